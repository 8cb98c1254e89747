/* The power-cut model of the simulated flashes (powercut.h): when the cut
 * hits and how the operation it hits is torn. Torn lengths and half-changed
 * bytes come from the seed, so every failing case replays exactly. */
#include "powercut.h"

uint64_t nb__powercut_mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15u;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9u;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBu;
    return x ^ (x >> 31);
}

void nb__powercut_arm(struct nb__powercut *pc, uint64_t n_ops, bool tear, uint64_t seed)
{
    pc->armed = true;
    pc->left = n_ops;
    pc->tear = tear;
    pc->seed = seed;
}

void nb__powercut_restore(struct nb__powercut *pc)
{
    pc->lost = false;
    pc->armed = false;
}

bool nb__powercut_hit(struct nb__powercut *pc)
{
    if (!pc->armed)
        return false;
    if (pc->left > 0) {
        pc->left--;
        return false;
    }
    pc->armed = false;
    pc->lost = true;
    return true;
}

uint64_t nb__powercut_torn_len(const struct nb__powercut *pc, uint64_t len)
{
    if (!pc->tear || len == 0)
        return 0;
    return nb__powercut_mix(pc->seed) % len;
}

uint8_t nb__powercut_half_program(const struct nb__powercut *pc, uint8_t target)
{
    return (uint8_t)(target | (uint8_t)nb__powercut_mix(pc->seed ^ 0xA5A5u));
}

uint8_t nb__powercut_half_erase(const struct nb__powercut *pc, uint8_t old)
{
    return (uint8_t)(old | (uint8_t)nb__powercut_mix(pc->seed ^ 0x5A5Au));
}
