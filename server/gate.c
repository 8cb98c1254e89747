/* The gate evaluator (gate.h): wave counters and a policy in, a decision
 * and the sentence that explains it out. Pure and total: integer arithmetic
 * only (no rounding surprises between the server and the tests), every
 * input gives an answer, nothing is read from outside. */
#include "gate.h"

#include <stdio.h>

static const char *const decision_names[] = {"hold", "advance", "pause", "abort"};
static const char *const failure_names[] = {"install failed", "health check failed", "timed out",
                                            "back on the old version"};
_Static_assert(sizeof failure_names / sizeof failure_names[0] == GATE_FAIL_COUNT,
               "a name for every failure class");

void gate_policy_defaults(struct gate_policy *p)
{
    p->soak_s = 86400;
    p->success_permille = 950;
    p->fail_min_count = 3;
    p->fail_permille = 50;
    p->fail_min_finished = 10;
    p->cum_fail_min_count = 5;
    p->cum_fail_permille = 50;
    p->abort_min_count = 10;
    p->abort_permille = 0;
    p->unseen_wait_s = 0;
}

const char *gate_decision_name(enum gate_decision d)
{
    return (unsigned)d < 4 ? decision_names[d] : "?";
}

const char *gate_failure_name(enum gate_failure f)
{
    return (unsigned)f < GATE_FAIL_COUNT ? failure_names[f] : "?";
}

uint32_t gate_failed(const struct gate_counts *c)
{
    uint32_t n = 0;
    for (int i = 0; i < GATE_FAIL_COUNT; i++)
        n += c->failed[i];
    return n;
}

uint32_t gate_finished(const struct gate_counts *c)
{
    return c->succeeded + gate_failed(c);
}

uint32_t gate_reachable(const struct gate_counts *c)
{
    return gate_finished(c) + c->in_progress;
}

uint32_t gate_total(const struct gate_counts *c)
{
    return gate_reachable(c) + c->not_seen;
}

uint32_t gate_threshold(uint32_t min_count, uint32_t permille, uint32_t finished)
{
    uint64_t share = ((uint64_t)permille * finished + 999) / 1000;
    uint64_t t = share > min_count ? share : min_count;
    /* A threshold of 0 would trip on no failure at all. */
    return t == 0 ? 1 : (uint32_t)(t > UINT32_MAX ? UINT32_MAX : t);
}

static struct gate_counts add(const struct gate_counts *a, const struct gate_counts *b)
{
    struct gate_counts s = {a->not_seen + b->not_seen,
                            a->in_progress + b->in_progress,
                            a->succeeded + b->succeeded,
                            {0}};
    for (int i = 0; i < GATE_FAIL_COUNT; i++)
        s.failed[i] = a->failed[i] + b->failed[i];
    return s;
}

/* Failures >= the threshold, once enough devices finished to judge. */
static bool tripped(const struct gate_counts *c, uint32_t min_count, uint32_t permille,
                    uint32_t min_finished)
{
    uint32_t finished = gate_finished(c), reachable = gate_reachable(c);
    uint32_t enough = min_finished < reachable ? min_finished : reachable;
    if (finished == 0 || finished < enough)
        return false;
    return gate_failed(c) >= gate_threshold(min_count, permille, finished);
}

/* "4 health check failed, 1 timed out" into out. */
static void failure_list(const struct gate_counts *c, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; i < GATE_FAIL_COUNT && o < cap; i++) {
        if (c->failed[i] == 0)
            continue;
        int n = snprintf(out + o, cap - o, "%s%u %s", o > 0 ? ", " : "", c->failed[i],
                         failure_names[i]);
        o = n < 0 ? cap : o + (size_t)n;
    }
}

static void say_failures(struct gate_result *r, const char *what, unsigned wave,
                         const struct gate_counts *c, uint32_t min_count, uint32_t permille)
{
    char list[120];
    uint32_t failed = gate_failed(c), finished = gate_finished(c);
    uint32_t rate = (uint32_t)((uint64_t)failed * 1000 / finished);
    uint32_t limit = gate_threshold(min_count, permille, finished);
    failure_list(c, list, sizeof list);
    (void)snprintf(r->reason, sizeof r->reason,
                   "wave %u %s: %u of %u finished devices%s failed (%u.%u%%; the limit is %u, "
                   "max(%u, %u.%u%%)): %s",
                   wave, r->decision == GATE_ABORT ? "aborted" : "paused", failed, finished, what,
                   rate / 10, rate % 10, limit, min_count, permille / 10, permille % 10, list);
}

static void decide(struct gate_result *r, enum gate_decision d, enum gate_rule rule)
{
    r->decision = d;
    r->rule = rule;
}

/* Rules 1-3: the failure gates. true when one decided. */
static bool failure_gates(const struct gate_policy *p, const struct gate_input *in,
                          struct gate_result *r)
{
    const struct gate_counts *c = &in->cur;
    if (p->abort_permille > 0 &&
        tripped(c, p->abort_min_count, p->abort_permille, p->fail_min_finished)) {
        decide(r, GATE_ABORT, GATE_R_ABORT);
        say_failures(r, "", in->wave, c, p->abort_min_count, p->abort_permille);
        return true;
    }
    if (tripped(c, p->fail_min_count, p->fail_permille, p->fail_min_finished)) {
        decide(r, GATE_PAUSE, GATE_R_WAVE_FAILURES);
        say_failures(r, "", in->wave, c, p->fail_min_count, p->fail_permille);
        return true;
    }
    struct gate_counts all = add(c, &in->before);
    if (tripped(&all, p->cum_fail_min_count, p->cum_fail_permille, p->fail_min_finished)) {
        decide(r, GATE_PAUSE, GATE_R_CUM_FAILURES);
        say_failures(r, " in all waves so far", in->wave, &all, p->cum_fail_min_count,
                     p->cum_fail_permille);
        return true;
    }
    return false;
}

/* Rules 7-9, once the wave has soaked and some devices were seen. */
static void success_gate(const struct gate_policy *p, const struct gate_input *in,
                         struct gate_result *r)
{
    const struct gate_counts *c = &in->cur;
    uint32_t reach = gate_reachable(c), ok = c->succeeded;
    uint32_t pm = (uint32_t)((uint64_t)ok * 1000 / reach);
    const char *unseen = c->not_seen > 0 ? "; devices not seen do not count" : "";
    if ((uint64_t)ok * 1000 >= (uint64_t)p->success_permille * reach) {
        decide(r, GATE_ADVANCE, GATE_R_HEALTHY);
        (void)snprintf(r->reason, sizeof r->reason,
                       "wave %u advances: %u of %u reachable devices healthy (%u.%u%% >= "
                       "%u.%u%%)%s",
                       in->wave, ok, reach, pm / 10, pm % 10, p->success_permille / 10,
                       p->success_permille % 10, unseen);
    } else if (c->in_progress > 0) {
        decide(r, GATE_HOLD, GATE_R_WAITING);
        (void)snprintf(r->reason, sizeof r->reason,
                       "wave %u holds: %u of %u reachable devices healthy (%u.%u%% < %u.%u%%), "
                       "%u still in progress",
                       in->wave, ok, reach, pm / 10, pm % 10, p->success_permille / 10,
                       p->success_permille % 10, c->in_progress);
    } else {
        decide(r, GATE_PAUSE, GATE_R_TOO_FEW);
        (void)snprintf(r->reason, sizeof r->reason,
                       "wave %u paused: every reachable device finished but only %u of %u are "
                       "healthy (%u.%u%% < %u.%u%%)",
                       in->wave, ok, reach, pm / 10, pm % 10, p->success_permille / 10,
                       p->success_permille % 10);
    }
}

/* Rule 6: nobody of the wave seen. It holds, unless the operator set
 * unseen_wait_s and the wave waited that long with healthy devices in the
 * waves before it to vouch for the release: a wave of devices that are all
 * offline (in storage, on a ship) then stops holding back the rest. */
static void unseen_gate(const struct gate_policy *p, const struct gate_input *in,
                        struct gate_result *r)
{
    const struct gate_counts *c = &in->cur;
    if (p->unseen_wait_s > 0 && in->soaked_s >= p->unseen_wait_s && in->before.succeeded > 0) {
        decide(r, GATE_ADVANCE, GATE_R_UNSEEN_WAITED);
        (void)snprintf(r->reason, sizeof r->reason,
                       "wave %u advances: none of its %u devices checked in within %u s "
                       "(unseen_wait_s), %u healthy devices in the waves before; they update "
                       "when they return",
                       in->wave, c->not_seen, p->unseen_wait_s, in->before.succeeded);
        return;
    }
    decide(r, GATE_HOLD, GATE_R_UNSEEN);
    int n =
        snprintf(r->reason, sizeof r->reason,
                 "wave %u holds: none of its %u devices has checked in yet", in->wave, c->not_seen);
    size_t o = n < 0 ? 0 : (size_t)n;
    if (p->unseen_wait_s > 0 && o < sizeof r->reason)
        (void)snprintf(r->reason + o, sizeof r->reason - o, "%s",
                       in->before.succeeded > 0
                           ? " (it advances after unseen_wait_s without them)"
                           : " (no healthy device in the waves before: it waits for its own)");
}

void gate_evaluate(const struct gate_policy *p, const struct gate_input *in,
                   struct gate_result *out)
{
    struct gate_result r = {GATE_HOLD, GATE_R_SOAKING, ""};
    const struct gate_counts *c = &in->cur;
    if (failure_gates(p, in, &r)) {
        /* decided */
    } else if (gate_total(c) == 0) {
        decide(&r, GATE_ADVANCE, GATE_R_EMPTY);
        (void)snprintf(r.reason, sizeof r.reason, "wave %u advances: it has no devices", in->wave);
    } else if (in->soaked_s < p->soak_s) {
        decide(&r, GATE_HOLD, GATE_R_SOAKING);
        (void)snprintf(r.reason, sizeof r.reason,
                       "wave %u holds: soaking, %llu s of %u s left; %u of %u devices healthy",
                       in->wave, (unsigned long long)(p->soak_s - in->soaked_s), p->soak_s,
                       c->succeeded, gate_total(c));
    } else if (gate_reachable(c) == 0) {
        unseen_gate(p, in, &r);
    } else {
        success_gate(p, in, &r);
    }
    *out = r;
}
