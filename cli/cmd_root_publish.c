/* `nobrick root publish|show`: the root chain on the server
 * (POST/GET /api/v1/roots). publish uploads the next signed root file; the
 * server checks it chains from its newest root exactly as a device will
 * (a threshold of the previous root keys and of its own, version + 1)
 * before devices can fetch it. The offline verbs are in cmd_root.c. */
#include "remote.h"

#include <nobrick/alloc.h>
#include <nobrick/fileio.h>

#include <stdio.h>
#include <string.h>

#define ROOT_FILE_MAX (64 * 1024)

static void print_root(const char *what, const json_t *r)
{
    char eps[1024];
    cli_json_join(json_object_get(r, "endpoints"), eps, sizeof eps);
    printf("%s root v%lld (served from v%lld), endpoints: %s\n", what, cli_json_int(r, "version"),
           cli_json_int(r, "first"), eps);
}

static const char publish_usage[] =
    "Usage: nobrick root publish ROOT.json [--json]\n"
    "\n"
    "Publishes the next version of the fleet's root (made by 'nobrick root rotate')\n"
    "on the server. The server refuses a root that does not chain from its newest\n"
    "one: signed by a threshold of the previous root keys AND of its own keys,\n"
    "version exactly one more, not expired. Devices learn of it at their next\n"
    "check-in and walk to it. Needs an admin token.\n";

static int publish(struct cli_remote *r, int argc, char **argv)
{
    const char *file = NULL;
    size_t n_pos = 0, len = 0;
    uint8_t *text = NULL;
    json_t *answer = NULL;
    struct nb_diag diag = {{0}};
    int rc = cli_remote_parse(r, argc, argv, NULL, 0, &file, 1, 1, &n_pos, "ROOT.json");
    if (rc != CLI_EXIT_OK)
        return rc;
    enum nb_err err = nb_file_read(file, ROOT_FILE_MAX, &text, &len, &diag);
    if (err != NB_OK)
        return cli_fail(err, &diag, file);
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        len--; /* the file's line end is not part of the envelope */
    json_t *body = json_pack("{s:s%}", "root", (const char *)text, len);
    nb_free(text);
    if (body == NULL) {
        (void)nb_diag_set(&diag, NB_EPARSE, "not text a root file holds");
        return cli_fail(NB_EPARSE, &diag, file);
    }
    rc = cli_remote_call(r, "POST", "/api/v1/roots", body, &answer);
    if (rc != CLI_EXIT_OK || r->json)
        return rc != CLI_EXIT_OK ? rc : cli_remote_print_json(answer);
    print_root("published", answer);
    size_t i;
    const json_t *w;
    json_array_foreach(json_object_get(answer, "warnings"), i, w)
    {
        if (json_is_string(w))
            fprintf(stderr, "nobrick: warning: %s\n", json_string_value(w));
    }
    json_decref(answer);
    return CLI_EXIT_OK;
}

static const char show_usage[] = "Usage: nobrick root show [--json]\n"
                                 "\n"
                                 "Shows the newest root the server publishes, the oldest version\n"
                                 "it serves, and the endpoints it lists.\n";

static int show(struct cli_remote *r, int argc, char **argv)
{
    size_t n_pos = 0;
    json_t *answer = NULL;
    int rc = cli_remote_parse(r, argc, argv, NULL, 0, NULL, 0, 0, &n_pos, NULL);
    if (rc == CLI_EXIT_OK)
        rc = cli_remote_call(r, "GET", "/api/v1/roots", NULL, &answer);
    if (rc != CLI_EXIT_OK || r->json)
        return rc != CLI_EXIT_OK ? rc : cli_remote_print_json(answer);
    print_root("newest", answer);
    json_decref(answer);
    return CLI_EXIT_OK;
}

static const struct cli_remote_command root_remote_commands[] = {
    {"publish", publish, publish_usage},
    {"show", show, show_usage},
};

bool cli_root_is_remote(const char *verb)
{
    return strcmp(verb, "publish") == 0 || strcmp(verb, "show") == 0;
}

int cli_root_remote(const struct cli_global *g, int argc, char **argv)
{
    return cli_remote_dispatch(g, "root", root_remote_commands,
                               sizeof root_remote_commands / sizeof root_remote_commands[0], argc,
                               argv);
}
