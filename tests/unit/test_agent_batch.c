/* Unit tests for the agent core's batched frame fetches (lib/agent/
 * agent_update.c): a 64-frame release of 4 KiB frames stored as is, fetched
 * from the fake server of agent_fixture.h in runs of consecutive frames of
 * at most fetch_max_bytes a Range request. Asserted: the number of requests
 * and each one's Range; a corrupted frame or a short answer keeps the
 * frames before it and the next request starts at it; a 200 is retried;
 * budget 0 or below a frame fetches one frame a request; a power cut in
 * the middle of a run resumes at the first frame missing from the slot. */
#include "agent_fixture.h"

#include <nobrick/flash_sim.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define BUDGET (64u * 1024) /* 16 frames a request */

/* Where frame i starts in the bundle: every frame is stored in AX_FS bytes. */
static uint64_t frame_at(uint32_t i)
{
    return ax_fleet()->h.frames_off + (uint64_t)i * AX_FS;
}

/* Request k of f asked for frames first .. last (inclusive). */
static void assert_run(const struct ax_fake *f, int k, uint32_t first, uint32_t last)
{
    assert_true(k < f->frame_reqs);
    assert_int_equal(f->frame_first[k], frame_at(first));
    assert_int_equal(f->frame_last[k], frame_at(last + 1) - 1);
}

/* A device with budget fetch_max runs one update to REBOOT against f; the
 * image in slot B is the signed one, armed for its trial. */
static void run_update(struct ax_rig *g, struct ax_fake *f, uint32_t fetch_max)
{
    struct nb_bootctl bc;
    ax_rig_provision(g);
    g->fetch_max = fetch_max;
    ax_rig_agent(g, true, true, NB_BOOTCTL_A);
    assert_int_equal(ax_drive(g, f, true, 100).what, NB_AGENT_REBOOT);
    assert_int_equal(f->meta_gets, 1);
    ax_record(g, &bc);
    assert_int_equal(bc.slot[NB_BOOTCTL_B].state, NB_BOOTCTL_TRIAL);
    assert_memory_equal(bc.slot[NB_BOOTCTL_B].sha256, ax_fleet()->image_sha, 32);
    nb_agent_fini(&g->a);
    dx_close(&g->d);
}

/* 64 frames of 4096 stored bytes with a 64 KiB budget: ceil(256 KiB / 64
 * KiB) = 4 requests of 16 frames; still one progress event per frame (and
 * one when the table is accepted). A budget that is not a multiple of the
 * frame (10,000 bytes) takes the whole frames that fit: 2 a request, 32. */
static void test_runs_within_budget(void **state)
{
    (void)state;
    struct ax_rig g;
    struct ax_fake f = {.offer = true, .drop_frame = -1};
    assert_int_equal(ax_fleet()->h.frames_len, (uint64_t)AX_BATCH_FRAMES * AX_FS);
    run_update(&g, &f, BUDGET);
    assert_int_equal(f.frame_reqs, 4);
    for (int k = 0; k < 4; k++)
        assert_run(&f, k, (uint32_t)k * 16, (uint32_t)k * 16 + 15);
    assert_int_equal(g.n_progress, AX_BATCH_FRAMES + 1);
    assert_true(ax_reported(&f, "downloading", NULL) && ax_reported(&f, "rebooting", NULL));

    struct ax_fake f2 = {.offer = true, .drop_frame = -1};
    run_update(&g, &f2, 10000);
    assert_int_equal(f2.frame_reqs, 32);
    for (int k = 0; k < 32; k++)
        assert_run(&f2, k, (uint32_t)k * 2, (uint32_t)k * 2 + 1);
}

/* Budget 0, or less than one frame: one frame a request, as without
 * batching: 64 requests, request i for frame i. */
static void test_budget_below_a_frame(void **state)
{
    (void)state;
    const uint32_t budgets[] = {0, AX_FS - 1, AX_FS};
    for (size_t b = 0; b < sizeof budgets / sizeof budgets[0]; b++) {
        struct ax_rig g;
        struct ax_fake f = {.offer = true, .drop_frame = -1};
        run_update(&g, &f, budgets[b]);
        assert_int_equal(f.frame_reqs, AX_BATCH_FRAMES);
        for (uint32_t i = 0; i < AX_BATCH_FRAMES; i++) {
            assert_run(&f, (int)i, i, i);
            assert_int_equal(f.frame_gets[i], 1);
        }
    }
}

/* One bit flipped in frame 21 (the second run, 16..31): frames 16..20 are
 * kept, frame 21 is refused by its hash and the next run starts at it:
 * 0-15, 16-31, 21-36, 37-52, 53-63, five requests. */
static void test_corrupt_frame_in_run(void **state)
{
    (void)state;
    struct ax_rig g;
    struct ax_fake f = {.offer = true, .drop_frame = -1, .flip_at = frame_at(21) + 1000};
    run_update(&g, &f, BUDGET);
    assert_int_equal(f.frame_reqs, 5);
    assert_run(&f, 0, 0, 15);
    assert_run(&f, 1, 16, 31);
    assert_run(&f, 2, 21, 36);
    assert_run(&f, 3, 37, 52);
    assert_run(&f, 4, 53, 63);
    assert_int_equal(f.flip_at, 0); /* the flip happened */
    assert_int_equal(g.n_progress, AX_BATCH_FRAMES + 1);
    assert_int_equal(g.n_waits, 0); /* fetched again at once, no back-off */
}

/* The third run's answer (32..47) ends 100 bytes into frame 40: frames
 * 32..39 are kept, the next run starts at 40: 0-15, 16-31, 32-47, 40-55,
 * 56-63. Ending exactly where frame 40 starts: the same. */
static void test_short_answer_keeps_complete_frames(void **state)
{
    (void)state;
    struct ax_rig g;
    struct ax_fake f = {.offer = true, .drop_frame = -1, .cut_at = frame_at(40) + 100};
    run_update(&g, &f, BUDGET);
    assert_int_equal(f.frame_reqs, 5);
    assert_run(&f, 2, 32, 47);
    assert_run(&f, 3, 40, 55);
    assert_run(&f, 4, 56, 63);

    assert_int_equal(f.cut_at, 0); /* the cut happened */

    struct ax_fake f2 = {.offer = true, .drop_frame = -1, .cut_at = frame_at(40)};
    run_update(&g, &f2, BUDGET);
    assert_int_equal(f2.cut_at, 0);
    assert_int_equal(f2.frame_reqs, 5);
    assert_run(&f2, 2, 32, 47);
    assert_run(&f2, 3, 40, 55);
    assert_run(&f2, 4, 56, 63);
    assert_int_equal(g.n_progress, AX_BATCH_FRAMES + 1);
}

/* A 200 (the whole answer, not the range) is a wrong answer: nothing of it
 * is installed, the same run is asked again after the back-off. */
static void test_whole_answer_retried(void **state)
{
    (void)state;
    struct ax_rig g;
    struct ax_fake f = {.offer = true, .drop_frame = -1, .whole_once = true};
    run_update(&g, &f, BUDGET);
    assert_int_equal(f.frame_reqs, 5);
    assert_run(&f, 0, 0, 15);
    assert_run(&f, 1, 0, 15);
    assert_run(&f, 4, 48, 63);
    assert_int_equal(g.n_waits, 1);
    assert_true(g.waits_ms[0] >= 2000 && g.waits_ms[0] <= 3000);
}

/* The power is cut at points spread over the frames' writes (torn on odd
 * ones). Frames installed before the cut are `done` (their progress
 * events); after the power-on, the first request starts at frame `done`,
 * the one being written, and the install completes. */
static void test_power_cut_mid_run(void **state)
{
    (void)state;
    struct ax_rig g;
    uint64_t total = ax_install_flash_ops(&g, BUDGET);
    int resumed = 0;
    for (uint64_t cut = total / 8; cut < total * 7 / 8; cut += total / 9) {
        struct ax_fake f1 = {.offer = true, .drop_frame = -1};
        ax_rig_provision(&g);
        g.fetch_max = BUDGET;
        nb_flash_sim_cut_after(g.d.sim, cut, cut % 2 == 1, cut + 1);
        ax_rig_agent(&g, true, true, NB_BOOTCTL_A);
        struct nb_agent_action act = ax_drive(&g, &f1, true, 100);
        assert_int_equal(act.what, NB_AGENT_DONE);
        nb_agent_fini(&g.a);
        uint32_t done = (uint32_t)(g.n_progress > 0 ? g.n_progress - 1 : 0);
        if (done == 0 || done >= AX_BATCH_FRAMES) { /* before or after the frames */
            dx_close(&g.d);
            continue;
        }
        ax_power_on(&g, NB_BOOTCTL_A, "1.0.0");
        struct ax_fake f2 = {.offer = true, .drop_frame = -1};
        ax_rig_agent(&g, true, true, NB_BOOTCTL_A);
        assert_int_equal(ax_drive(&g, &f2, true, 100).what, NB_AGENT_REBOOT);
        assert_int_equal(f2.frame_first[0], frame_at(done));
        uint32_t left = AX_BATCH_FRAMES - done;
        assert_int_equal(f2.frame_reqs, (int)((left + 15) / 16));
        struct nb_bootctl bc;
        ax_record(&g, &bc);
        assert_memory_equal(bc.slot[NB_BOOTCTL_B].sha256, ax_fleet()->image_sha, 32);
        nb_agent_fini(&g.a);
        dx_close(&g.d);
        resumed++;
    }
    assert_true(resumed >= 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runs_within_budget),
        cmocka_unit_test(test_budget_below_a_frame),
        cmocka_unit_test(test_corrupt_frame_in_run),
        cmocka_unit_test(test_short_answer_keeps_complete_frames),
        cmocka_unit_test(test_whole_answer_retried),
        cmocka_unit_test(test_power_cut_mid_run),
    };
    return cmocka_run_group_tests(tests, ax_group_setup_batch, ax_group_teardown);
}
