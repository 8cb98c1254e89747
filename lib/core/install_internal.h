/* Shared internals of the install engine (install.c, install_frames.c). */
#ifndef NOBRICK_INSTALL_INTERNAL_H
#define NOBRICK_INSTALL_INTERNAL_H

#include <nobrick/install.h>

/* Marks the install failed and returns err. */
enum nb_err nb__install_fail(struct nb_install *in, enum nb_err err);
/* The tries the trial is armed with (the device's, or the default). */
uint8_t nb__install_tries(const struct nb_install *in);

#endif
