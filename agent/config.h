/* agent.conf: the device's configuration, shared by nobrick-agent and
 * nobrick-boot (agent/config.c). `key = value` lines, `#` comments, strict:
 * an unknown or duplicate key or a bad value is an error naming the file,
 * the line and the key. Paths are relative to the config file's directory.
 * docs/agent.md is the reference. */
#ifndef AGENT_CONFIG_H
#define AGENT_CONFIG_H

#include <nobrick/agent.h>
#include <nobrick/err.h>
#include <nobrick/release.h>

#include <stdbool.h>
#include <stdint.h>

#define AGENT_PATH_MAX 1024
#define AGENT_CONFIG_MAX (64 * 1024) /* bytes of agent.conf */
#define AGENT_CONTACT_MAX 127

/* How the flash is reached: the power-cut simulator (default) or a plain
 * file / block device (flash_file.h). */
enum agent_flash_backend { AGENT_FLASH_SIM, AGENT_FLASH_FILE };

/* Where boot control lives (`bootctl = flash|uboot`): the two-copy record
 * in the flash layout (default), or the U-Boot environment described by
 * `uboot_env_config` (a libubootenv fw_env.config, default
 * /etc/fw_env.config; nobrick/bootctl_uboot.h, docs/bootloader.md). */
enum agent_bootctl_backend { AGENT_BOOTCTL_FLASH, AGENT_BOOTCTL_UBOOT };

struct agent_config {
    char path[AGENT_PATH_MAX]; /* the config file itself */
    char flash[AGENT_PATH_MAX];
    enum agent_flash_backend backend;
    uint32_t erase_size, write_size;
    uint64_t slot_size;
    uint32_t meta_size; /* 0: NB_LAYOUT_META_DEFAULT */
    bool gold;
    char hw_class[NB_HW_CLASS_MAX + 1];
    char component[NB_COMPONENT_MAX + 1]; /* what slots A/B hold: "system" */
    char device_key[AGENT_PATH_MAX];      /* empty: no key (no encrypted bundles) */
    char health_dir[AGENT_PATH_MAX];      /* empty: no health checks */
    uint32_t health_timeout_s;
    uint8_t tries; /* trial boots of a new image */
    char booted_file[AGENT_PATH_MAX];
    char support_contact[AGENT_CONTACT_MAX + 1]; /* empty: none */
    enum agent_bootctl_backend bootctl;
    char uboot_env_config[AGENT_PATH_MAX]; /* bootctl = uboot only */
    /* The online agent (`run`, docs/agent.md "The online agent"). */
    char server[AGENT_PATH_MAX];    /* http(s)://host[:port]; empty: offline only */
    char server_ca[AGENT_PATH_MAX]; /* PEM CA file for https; empty: the system's */
    uint32_t poll_interval_s;       /* until the server says otherwise */
    uint32_t poll_jitter_s;
    uint32_t backoff_min_s, backoff_max_s; /* retry delays after a failure */
    uint32_t timeout_s;                    /* connect, and slower than 1 KiB/s for this long */
    uint32_t fetch_max_bytes;              /* frames' stored bytes one Range request asks for */
    char reboot_command[AGENT_PATH_MAX];   /* empty: exit 5 and let the supervisor reboot */
    /* Users in the loop (docs/agent.md "The control socket"). */
    enum nb_agent_policy install_policy;
    uint16_t window_start_min, window_end_min; /* maintenance_window, minutes after 00:00 UTC */
    bool window_set;
    uint32_t reboot_delay_s;
    char control_socket[AGENT_PATH_MAX]; /* default /run/nobrick/agent.sock */
};

/* Reads and checks path. Defaults: install_policy auto, reboot_delay_s 0,
 * control_socket /run/nobrick/agent.sock; install_policy = window needs
 * maintenance_window (HH:MM-HH:MM, UTC). flash_backend sim, erase_size 4096,
 * write_size 16, gold no, health_timeout_s 30, tries 3, booted_file
 * "booted", bootctl flash, uboot_env_config /etc/fw_env.config (refused
 * unless bootctl = uboot), poll_interval_s 900, poll_jitter_s 180, backoff_min_s
 * 5, backoff_max_s 600, timeout_s 30, fetch_max_bytes 65536 (at most
 * NB_AGENT_FETCH_MAX); flash, slot_size and hw_class are
 * required; server must be an http:// or https:// URL. NB_ENOENT / NB_EIO
 * for the file, NB_EPARSE with diag "FILE:LINE: key 'K': why" otherwise.
 * *out is written only on success. */
NB_MUST_CHECK enum nb_err agent_config_load(const char *path, struct agent_config *out,
                                            struct nb_diag *diag);

#endif
