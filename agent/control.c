/* The control socket's transport: a listening Unix stream socket, up to
 * AGENT_CONTROL_CLIENTS clients, newline-framed lines with a length cap,
 * poll() for the driver's waits, and non-blocking writes so a client that
 * stops reading can never stall the agent (it is dropped instead). The
 * meaning of the lines is in control_json.c. */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static void drop(struct agent_control_client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->len = 0;
    c->overlong = false;
}

static enum nb_err fill_addr(struct sockaddr_un *sa, const char *path, struct nb_diag *diag)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa->sun_path)
        return nb_diag_set(diag, NB_ELENGTH, "control socket path too long: %s", path);
    memcpy(sa->sun_path, path, strlen(path) + 1);
    return NB_OK;
}

/* The directory of path, made when missing (one level, like /run/nobrick). */
static void make_parent(const char *path)
{
    char dir[1024];
    const char *slash = strrchr(path, '/');
    if (slash == NULL || slash == path || (size_t)(slash - path) >= sizeof dir)
        return;
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = '\0';
    (void)mkdir(dir, 0755);
}

/* A socket file left by an agent that died is removed; one another agent
 * listens on, or any other file, is not. */
static enum nb_err clear_stale(const struct sockaddr_un *sa, const char *path, struct nb_diag *diag)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return NB_OK;
    if (!S_ISSOCK(st.st_mode))
        return nb_diag_set(diag, NB_EEXIST, "%s exists and is not a socket", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool live = fd >= 0 && connect(fd, (const struct sockaddr *)sa, sizeof *sa) == 0;
    if (fd >= 0)
        close(fd);
    if (live)
        return nb_diag_set(diag, NB_EEXIST, "%s: another agent is listening there", path);
    (void)unlink(path);
    return NB_OK;
}

enum nb_err agent_control_open(struct agent_control *ctl, const char *path,
                               agent_control_handler handle, void *ctx, struct nb_diag *diag)
{
    struct sockaddr_un sa;
    memset(ctl, 0, sizeof *ctl);
    ctl->listen_fd = -1;
    for (size_t i = 0; i < AGENT_CONTROL_CLIENTS; i++)
        ctl->client[i].fd = -1;
    ctl->handle = handle;
    ctl->ctx = ctx;
    enum nb_err err = fill_addr(&sa, path, diag);
    if (err != NB_OK)
        return err;
    make_parent(path);
    if ((err = clear_stale(&sa, path, diag)) != NB_OK)
        return err;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || bind(fd, (const struct sockaddr *)&sa, sizeof sa) != 0 ||
        chmod(path, 0660) != 0 || listen(fd, 8) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return nb_diag_set(diag, NB_EIO, "control socket %s: %s", path, strerror(e));
    }
    ctl->listen_fd = fd;
    (void)snprintf(ctl->path, sizeof ctl->path, "%s", path);
    return NB_OK;
}

void agent_control_close(struct agent_control *ctl)
{
    for (size_t i = 0; i < AGENT_CONTROL_CLIENTS; i++)
        drop(&ctl->client[i]);
    if (ctl->listen_fd >= 0) {
        close(ctl->listen_fd);
        (void)unlink(ctl->path);
    }
    ctl->listen_fd = -1;
}

static void accept_clients(struct agent_control *ctl)
{
    for (;;) {
        int fd = accept(ctl->listen_fd, NULL, NULL);
        if (fd < 0)
            return;
        if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 || fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
            close(fd);
            continue;
        }
        size_t i = 0;
        while (i < AGENT_CONTROL_CLIENTS && ctl->client[i].fd >= 0)
            i++;
        if (i == AGENT_CONTROL_CLIENTS) {
            close(fd); /* full: the client sees the connection closed */
            continue;
        }
        ctl->client[i].fd = fd;
        ctl->client[i].len = 0;
        ctl->client[i].overlong = false;
    }
}

static bool send_line(struct agent_control_client *c, const char *line)
{
    size_t n = strlen(line);
    char buf[AGENT_CONTROL_LINE_MAX + 1];
    if (n >= sizeof buf)
        return false;
    memcpy(buf, line, n);
    buf[n++] = '\n';
    ssize_t w = send(c->fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w != (ssize_t)n) {
        drop(c);
        return false;
    }
    return true;
}

/* The complete lines in c's buffer, each answered; true when one acted. */
static bool take_lines(struct agent_control *ctl, struct agent_control_client *c)
{
    bool acted = false;
    char answer[AGENT_CONTROL_LINE_MAX];
    char *nl;
    while (c->fd >= 0 && (nl = memchr(c->in, '\n', c->len)) != NULL) {
        size_t n = (size_t)(nl - c->in);
        if (c->overlong) {
            c->overlong = false;
            (void)send_line(c, "{\"ok\":false,\"error\":{\"code\":\"E_LENGTH\",\"message\":"
                               "\"command line longer than 4096 bytes\"}}");
        } else if (n > 0) {
            c->in[n] = '\0';
            acted |= ctl->handle(ctl->ctx, c->in, n, answer, sizeof answer);
            (void)send_line(c, answer);
        }
        if (c->fd < 0)
            break;
        c->len -= n + 1;
        memmove(c->in, nl + 1, c->len);
    }
    if (c->fd >= 0 && c->len == sizeof c->in) { /* no newline in a full buffer */
        c->overlong = true;
        c->len = 0;
    }
    return acted;
}

static bool read_client(struct agent_control *ctl, struct agent_control_client *c)
{
    ssize_t n = recv(c->fd, c->in + c->len, sizeof c->in - c->len, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        drop(c);
        return false;
    }
    if (n < 0)
        return false;
    c->len += (size_t)n;
    return take_lines(ctl, c);
}

bool agent_control_poll(struct agent_control *ctl, int timeout_ms)
{
    struct pollfd p[AGENT_CONTROL_CLIENTS + 1];
    p[0].fd = ctl->listen_fd;
    p[0].events = POLLIN;
    for (size_t i = 0; i < AGENT_CONTROL_CLIENTS; i++) {
        p[i + 1].fd = ctl->client[i].fd; /* -1: ignored by poll */
        p[i + 1].events = POLLIN;
    }
    if (poll(p, AGENT_CONTROL_CLIENTS + 1, timeout_ms) <= 0)
        return false;
    bool acted = false;
    for (size_t i = 0; i < AGENT_CONTROL_CLIENTS; i++)
        if (ctl->client[i].fd >= 0 && (p[i + 1].revents & (POLLIN | POLLHUP | POLLERR)) != 0)
            acted |= read_client(ctl, &ctl->client[i]);
    if (p[0].revents & POLLIN)
        accept_clients(ctl);
    return acted;
}

void agent_control_broadcast(struct agent_control *ctl, const char *line)
{
    for (size_t i = 0; i < AGENT_CONTROL_CLIENTS; i++)
        if (ctl->client[i].fd >= 0)
            (void)send_line(&ctl->client[i], line);
}
