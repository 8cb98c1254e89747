/* Replays a fuzz target's corpus as a plain test: every file in the corpus
 * directory given as argv[1] is fed to LLVMFuzzerTestOneInput once. Under the
 * sanitizer build a crash, leak or undefined behaviour fails the test. */
#include <nobrick/alloc.h>
#include <nobrick/fileio.h>

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_INPUT (4u * 1024 * 1024)

static int replay_file(const char *path)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    struct nb_diag diag = {0};
    if (nb_file_read(path, REPLAY_MAX_INPUT, &buf, &len, &diag) != NB_OK) {
        fprintf(stderr, "replay: %s\n", diag.msg);
        return -1;
    }
    (void)LLVMFuzzerTestOneInput(buf, len);
    nb_free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    DIR *dir = opendir(argv[1]);
    if (dir == NULL) {
        perror(argv[1]);
        return 1;
    }
    int n = 0, failed = 0;
    char path[4096];
    for (struct dirent *e; (e = readdir(dir)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        if (snprintf(path, sizeof path, "%s/%s", argv[1], e->d_name) >= (int)sizeof path)
            continue;
        if (replay_file(path) != 0)
            failed++;
        n++;
    }
    closedir(dir);
    printf("%d passed, %d failed\n", n - failed, failed);
    return (failed > 0 || n == 0) ? 1 : 0;
}
