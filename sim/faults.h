/* The network faults of a scenario (sim/faults.c), decided per request
 * from the device's random state so that a run replays: a download answer
 * (a Range request) cut at a random byte of its body with the connection
 * then failed ("drops mid-frame"), one byte of a frame answer flipped (the
 * core must refuse the frame by its signed hash and fetch it again), and a
 * share of the fleet on slow links (a receive-speed cap in wall mode, the
 * same cost in virtual time). Power cuts and dropped answers are run.c's. */
#ifndef SIM_FAULTS_H
#define SIM_FAULTS_H

#include "fleet.h"
#include "net.h"

#include <stdbool.h>
#include <stdint.h>

/* The faults and timing of q, sent by d (frame: q fetches a frame;
 * checkin: q is a check-in, timed). */
void sim_faults_request(const struct sim_scenario *sc, struct sim_device *d,
                        const struct nb_agent_request *q, bool frame, bool checkin,
                        struct sim_net_opts *out);

/* Whether device index is on a slow link (fixed for the run). */
bool sim_faults_slow(const struct sim_scenario *sc, uint32_t index);

/* Virtual milliseconds an answer of len bytes costs d (its slow link in
 * virtual time; 0 in wall mode, where libcurl caps the speed, or on a
 * normal link). */
uint64_t sim_faults_delay_ms(const struct sim_scenario *sc, const struct sim_device *d,
                             uint64_t len);

#endif
