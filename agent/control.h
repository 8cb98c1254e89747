/* The agent's local control socket (agent/control.c, docs/agent.md "The
 * control socket"): a Unix stream socket for the product's own UI. Several
 * clients; JSON lines both ways: the agent writes every event to every
 * client, a client writes commands and gets one answer line each. This
 * module owns the sockets and the line framing; control_json.c the JSON. */
#ifndef AGENT_CONTROL_H
#define AGENT_CONTROL_H

#include <nobrick/agent.h>
#include <nobrick/err.h>

#include <stdbool.h>
#include <stddef.h>

#define AGENT_CONTROL_LINE_MAX 4096 /* a longer command line is refused (E_LENGTH) */
#define AGENT_CONTROL_CLIENTS 16    /* more are refused: closed at once */

struct agent_control_client {
    int fd; /* -1: free */
    char in[AGENT_CONTROL_LINE_MAX];
    size_t len;
    bool overlong; /* dropping the rest of a line that was too long */
};

/* Answers one command line (no newline) into answer (no newline, cap
 * bytes); true when the command changed something the core must act on. */
typedef bool (*agent_control_handler)(void *ctx, const char *line, size_t len, char *answer,
                                      size_t cap);

struct agent_control {
    int listen_fd;
    char path[1024];
    struct agent_control_client client[AGENT_CONTROL_CLIENTS];
    agent_control_handler handle;
    void *ctx;
};

/* Listens on path (mode 0660; its directory is made if missing). A stale
 * socket file is replaced; a live one (another agent answers) is
 * NB_EEXIST; another kind of file is NB_EEXIST too, untouched. */
NB_MUST_CHECK enum nb_err agent_control_open(struct agent_control *ctl, const char *path,
                                             agent_control_handler handle, void *ctx,
                                             struct nb_diag *diag);
/* Closes every client and the socket, and removes the socket file. */
void agent_control_close(struct agent_control *ctl);

/* Waits up to timeout_ms (0: just looks) for new clients and command
 * lines, and answers them. True when a command asked the core to act. */
bool agent_control_poll(struct agent_control *ctl, int timeout_ms);

/* Writes line plus a newline to every client. A client that cannot take it
 * at once (its buffer is full: it stopped reading) is dropped. */
void agent_control_broadcast(struct agent_control *ctl, const char *line);

/* control_json.c: one event as a JSON line (no newline) in buf; support
 * is the configured contact ("" for none). false when it did not fit. */
bool agent_event_json(const struct nb_agent_event *ev, const char *support, char *buf, size_t cap);

/* control_json.c: carries out one command line on the core and writes the
 * answer: {"ok":true} (status: {"ok":true,"status":{...}}) or
 * {"ok":false,"error":{"code":"E_PARSE","message":"..."}}. True when the
 * core must step again. */
bool agent_command_json(struct nb_agent *a, const char *line, size_t len, char *answer, size_t cap);

/* "2026-12-01T02:00:00Z" <-> Unix seconds (UTC). */
bool agent_time_parse(const char *text, int64_t *out);
void agent_time_format(int64_t t, char *buf, size_t cap);

#endif
