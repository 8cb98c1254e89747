/* Unit tests for server/gate.c, the gate between a rollout's waves. The
 * evaluator is run on every combination of bounded wave counters (devices
 * not seen, in progress, succeeded, failed), of earlier-wave counters, of
 * soak times and of policies, and each answer is checked against properties
 * that must hold everywhere: never advance with failures at the threshold,
 * never before the soak, devices never seen count for nothing, one more
 * failure never turns a stop into a go, and so on. Then the sentences. */
#include "gate.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#define B 8 /* each counter of the current wave runs 0..B */
#define SOAK 60

static struct gate_policy policy(int which)
{
    struct gate_policy p;
    gate_policy_defaults(&p);
    p.soak_s = SOAK;
    if (which == 1) { /* a canary: one failure stops it; abort on */
        p.fail_min_count = 1;
        p.fail_min_finished = 1;
        p.abort_permille = 500;
        p.abort_min_count = 4;
    }
    if (which == 2) /* a wave nobody was seen in may advance after the soak */
        p.unseen_wait_s = SOAK;
    return p;
}

/* f failures spread over the classes in a way that depends on k. */
static void spread(struct gate_counts *c, uint32_t f, unsigned k)
{
    memset(c->failed, 0, sizeof c->failed);
    for (uint32_t i = 0; i < f; i++)
        c->failed[(i + k) % (k % 2 == 0 ? GATE_FAIL_COUNT : 1)]++;
}

static enum gate_decision eval(const struct gate_policy *p, const struct gate_input *in)
{
    struct gate_result r;
    gate_evaluate(p, in, &r);
    return r.decision;
}

static bool stops(enum gate_decision d)
{
    return d == GATE_PAUSE || d == GATE_ABORT;
}

/* The properties of one input. */
static void check_one(const struct gate_policy *p, const struct gate_input *in)
{
    struct gate_result r;
    gate_evaluate(p, in, &r);
    const struct gate_counts *c = &in->cur;
    uint32_t failed = gate_failed(c), finished = gate_finished(c), reach = gate_reachable(c);
    char head[32];
    (void)snprintf(head, sizeof head, "wave %u ", in->wave);
    assert_true(strncmp(r.reason, head, strlen(head)) == 0);
    assert_non_null(strstr(r.reason, r.decision == GATE_ADVANCE ? "advances"
                                     : r.decision == GATE_HOLD  ? "holds"
                                     : r.decision == GATE_PAUSE ? "paused"
                                                                : "aborted"));
    if (r.decision == GATE_ADVANCE) {
        /* Never with failures at the threshold, never before the soak
         * (unless empty), only with enough of the reachable devices healthy. */
        assert_true(failed == 0 ||
                    failed < gate_threshold(p->fail_min_count, p->fail_permille, finished));
        assert_true(gate_total(c) == 0 || in->soaked_s >= p->soak_s);
        assert_true((uint64_t)c->succeeded * 1000 >= (uint64_t)p->success_permille * reach);
        /* ... and on evidence: its own healthy devices, or (unseen_wait_s)
         * a wave nobody was seen in, waited out, after healthy waves */
        assert_true(gate_total(c) == 0 || c->succeeded > 0 ||
                    (r.rule == GATE_R_UNSEEN_WAITED && reach == 0 && p->unseen_wait_s > 0 &&
                     in->soaked_s >= p->unseen_wait_s && in->before.succeeded > 0));
    }
    if (failed > 0 && finished >= p->fail_min_finished &&
        failed >= gate_threshold(p->fail_min_count, p->fail_permille, finished))
        assert_true(stops(r.decision));
    if (r.decision == GATE_ABORT)
        assert_true(p->abort_permille > 0);
    if (failed == 0 && gate_failed(&in->before) == 0)
        assert_false(stops(r.decision) && r.rule != GATE_R_TOO_FEW);
}

/* Devices never seen count neither as success nor as failure: dropping them
 * changes no decision (but an all-unseen wave waits, an empty one does not). */
static void check_unseen(const struct gate_policy *p, const struct gate_input *in)
{
    struct gate_input without = *in;
    without.cur.not_seen = 0;
    if (gate_total(&without.cur) == 0)
        return;
    assert_int_equal(eval(p, in), eval(p, &without));
}

/* One success turned into a failure never turns a stop into a go; one
 * in-progress device that succeeds never turns a go into a stop. */
static void check_monotonic(const struct gate_policy *p, const struct gate_input *in)
{
    enum gate_decision d = eval(p, in);
    if (in->cur.succeeded > 0) {
        struct gate_input worse = *in;
        worse.cur.succeeded--;
        worse.cur.failed[GATE_FAIL_HEALTH]++;
        if (stops(d))
            assert_true(stops(eval(p, &worse)));
        if (d == GATE_PAUSE)
            assert_true(eval(p, &worse) != GATE_ADVANCE);
    }
    if (in->cur.in_progress > 0 && d == GATE_ADVANCE) {
        struct gate_input better = *in;
        better.cur.in_progress--;
        better.cur.succeeded++;
        assert_int_equal(eval(p, &better), GATE_ADVANCE);
    }
}

static void test_exhaustive(void **state)
{
    (void)state;
    static const uint32_t before_ok[] = {0, 5, 20}, before_failed[] = {0, 2, 4};
    static const uint64_t soaked[] = {0, SOAK - 1, SOAK};
    unsigned long n = 0;
    for (int pi = 0; pi < 3; pi++) {
        struct gate_policy p = policy(pi);
        for (uint32_t ns = 0; ns <= B; ns++)
            for (uint32_t ip = 0; ip <= B; ip++)
                for (uint32_t ok = 0; ok <= B; ok++)
                    for (uint32_t f = 0; f <= B; f++)
                        for (unsigned k = 0; k < 9; k++) {
                            struct gate_input in = {2, {ns, ip, ok, {0}}, {0, 0, 0, {0}}, 0};
                            spread(&in.cur, f, k);
                            in.before.succeeded = before_ok[k % 3];
                            in.before.failed[GATE_FAIL_INSTALL] = before_failed[k / 3];
                            for (size_t s = 0; s < 3; s++) {
                                in.soaked_s = soaked[s];
                                check_one(&p, &in);
                                check_unseen(&p, &in);
                                check_monotonic(&p, &in);
                                n++;
                            }
                        }
    }
    assert_true(n == 3ul * (B + 1) * (B + 1) * (B + 1) * (B + 1) * 9 * 3);
}

/* Every split of a few failures over the classes: the decision depends on
 * the total only; the sentence names each class that has any. */
static void test_failure_classes(void **state)
{
    (void)state;
    struct gate_policy p = policy(0);
    for (uint32_t a = 0; a <= 4; a++)
        for (uint32_t b = 0; b <= 4; b++)
            for (uint32_t c = 0; c <= 4; c++)
                for (uint32_t d = 0; d <= 4; d++) {
                    struct gate_input in = {1, {0, 0, 10, {a, b, c, d}}, {0, 0, 0, {0}}, SOAK};
                    struct gate_input lump = {
                        1, {0, 0, 10, {a + b + c + d, 0, 0, 0}}, {0, 0, 0, {0}}, SOAK};
                    struct gate_result r;
                    gate_evaluate(&p, &in, &r);
                    assert_int_equal(r.decision, eval(&p, &lump));
                    if (r.rule != GATE_R_WAVE_FAILURES)
                        continue;
                    for (int i = 0; i < GATE_FAIL_COUNT; i++)
                        assert_int_equal(strstr(r.reason, gate_failure_name(i)) != NULL,
                                         in.cur.failed[i] > 0);
                }
}

static void expect(const struct gate_policy *p, const struct gate_input *in, enum gate_decision d,
                   enum gate_rule rule, const char *reason)
{
    struct gate_result r;
    gate_evaluate(p, in, &r);
    if (strcmp(r.reason, reason) != 0)
        fail_msg("reason: got '%s', want '%s'", r.reason, reason);
    assert_int_equal(r.decision, d);
    assert_int_equal(r.rule, rule);
}

static void test_sentences(void **state)
{
    (void)state;
    struct gate_policy p = policy(0);
    struct gate_input in = {2, {3, 0, 57, {0, 4, 0, 0}}, {0, 0, 0, {0}}, 5};
    expect(&p, &in, GATE_PAUSE, GATE_R_WAVE_FAILURES,
           "wave 2 paused: 4 of 61 finished devices failed (6.5%; the limit is 4, max(3, 5.0%)): "
           "4 health check failed");
    struct gate_input soak = {1, {2, 1, 7, {0}}, {0, 0, 0, {0}}, 20};
    expect(&p, &soak, GATE_HOLD, GATE_R_SOAKING,
           "wave 1 holds: soaking, 40 s of 60 s left; 7 of 10 devices healthy");
    struct gate_input go = {3, {4, 1, 20, {0}}, {0, 0, 0, {0}}, SOAK};
    expect(&p, &go, GATE_ADVANCE, GATE_R_HEALTHY,
           "wave 3 advances: 20 of 21 reachable devices healthy (95.2% >= 95.0%); devices not "
           "seen do not count");
    struct gate_input wait = {3, {0, 3, 17, {0}}, {0, 0, 0, {0}}, SOAK};
    expect(&p, &wait, GATE_HOLD, GATE_R_WAITING,
           "wave 3 holds: 17 of 20 reachable devices healthy (85.0% < 95.0%), 3 still in "
           "progress");
    struct gate_input few = {4, {0, 0, 8, {1, 0, 0, 1}}, {0, 0, 0, {0}}, SOAK};
    expect(&p, &few, GATE_PAUSE, GATE_R_TOO_FEW,
           "wave 4 paused: every reachable device finished but only 8 of 10 are healthy "
           "(80.0% < 95.0%)");
    struct gate_input none = {0, {5, 0, 0, {0}}, {0, 0, 0, {0}}, SOAK};
    expect(&p, &none, GATE_HOLD, GATE_R_UNSEEN,
           "wave 0 holds: none of its 5 devices has checked in yet");
    struct gate_input empty = {0, {0}, {0, 0, 0, {0}}, 0};
    expect(&p, &empty, GATE_ADVANCE, GATE_R_EMPTY, "wave 0 advances: it has no devices");
}

/* A wave nobody was seen in: holds without unseen_wait_s; with it, holds
 * until the wait is over, then advances only with healthy devices before
 * it; failures before it still pause it first. */
static void test_unseen_wait(void **state)
{
    (void)state;
    struct gate_policy p = policy(0);
    struct gate_input in = {3, {7, 0, 0, {0}}, {0, 0, 40, {0}}, 10 * SOAK};
    expect(&p, &in, GATE_HOLD, GATE_R_UNSEEN,
           "wave 3 holds: none of its 7 devices has checked in yet");
    p.unseen_wait_s = 5 * SOAK;
    in.soaked_s = 5 * SOAK - 1;
    expect(&p, &in, GATE_HOLD, GATE_R_UNSEEN,
           "wave 3 holds: none of its 7 devices has checked in yet (it advances after "
           "unseen_wait_s without them)");
    in.soaked_s = 5 * SOAK;
    expect(&p, &in, GATE_ADVANCE, GATE_R_UNSEEN_WAITED,
           "wave 3 advances: none of its 7 devices checked in within 300 s (unseen_wait_s), 40 "
           "healthy devices in the waves before; they update when they return");
    struct gate_input first = {1, {7, 0, 0, {0}}, {0}, 10 * SOAK};
    expect(&p, &first, GATE_HOLD, GATE_R_UNSEEN,
           "wave 1 holds: none of its 7 devices has checked in yet (no healthy device in the "
           "waves before: it waits for its own)");
    in.before.failed[GATE_FAIL_HEALTH] = 5;
    assert_int_equal(eval(&p, &in), GATE_PAUSE);
    in.before.failed[GATE_FAIL_HEALTH] = 0;
    in.cur.in_progress = 1; /* one seen: the ordinary rules */
    assert_int_equal(eval(&p, &in), GATE_HOLD);
}

/* Slow bleeding: no wave trips its own gate, the waves together do. */
static void test_cumulative(void **state)
{
    (void)state;
    struct gate_policy p = policy(0);
    struct gate_input in = {5, {0, 0, 40, {0, 2, 0, 0}}, {0, 0, 50, {5, 0, 0, 0}}, SOAK};
    expect(&p, &in, GATE_PAUSE, GATE_R_CUM_FAILURES,
           "wave 5 paused: 7 of 97 finished devices in all waves so far failed (7.2%; the limit "
           "is 5, max(5, 5.0%)): 5 install failed, 2 health check failed");
    in.before.failed[GATE_FAIL_INSTALL] = 2;
    assert_int_equal(eval(&p, &in), GATE_ADVANCE);
}

/* A canary policy (one failure stops it) and abort. */
static void test_canary_and_abort(void **state)
{
    (void)state;
    struct gate_policy p = policy(1);
    struct gate_input one = {0, {3, 1, 0, {0, 1, 0, 0}}, {0, 0, 0, {0}}, 0};
    assert_int_equal(eval(&p, &one), GATE_PAUSE);
    struct gate_input bad = {0, {0, 0, 4, {0, 6, 0, 0}}, {0, 0, 0, {0}}, 0};
    expect(
        &p, &bad, GATE_ABORT, GATE_R_ABORT,
        "wave 0 aborted: 6 of 10 finished devices failed (60.0%; the limit is 5, max(4, 50.0%)): "
        "6 health check failed");
    struct gate_policy d = policy(0);
    assert_int_equal(eval(&d, &bad), GATE_PAUSE); /* abort is off by default */
}

static void test_threshold(void **state)
{
    (void)state;
    assert_int_equal(gate_threshold(3, 50, 0), 3);
    assert_int_equal(gate_threshold(3, 50, 60), 3);
    assert_int_equal(gate_threshold(3, 50, 61), 4);
    assert_int_equal(gate_threshold(0, 0, 100), 1);
    assert_int_equal(gate_threshold(3, 1000, UINT32_MAX), UINT32_MAX);
    assert_string_equal(gate_decision_name(GATE_ABORT), "abort");
    assert_string_equal(gate_failure_name(GATE_FAIL_FALLBACK), "back on the old version");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exhaustive),  cmocka_unit_test(test_failure_classes),
        cmocka_unit_test(test_sentences),   cmocka_unit_test(test_cumulative),
        cmocka_unit_test(test_unseen_wait), cmocka_unit_test(test_canary_and_abort),
        cmocka_unit_test(test_threshold),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
