/*
 * `tool NAME --key value ...` (or `tool NAME --json '{...}'`): a host tool
 * called from a jailed program. It is built into stockade and written into
 * the jail as /etc/stockade/bin/tool; it reaches the host only through the
 * descriptor named by STOCKADE_TOOLS_FD, which the jail inherits.
 *
 * Each call makes a private socket pair and hands one end to the host over
 * that descriptor, so concurrent calls (a pipeline) never read each other's
 * answers. The host reads the arguments (each followed by a NUL) until the
 * end of the stream, decides the call through the policy's gate, and
 * answers with one status byte and text: '0' and the result as JSON,
 * '1' and "kind: why" when the call was refused, '2' when the tool failed.
 * The result goes to stdout; a refusal or failure to stderr, exit 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_ANSWER (17u << 20)

static int fail(const char *why) {
    fprintf(stderr, "tool: %s\n", why);
    return 2;
}

static int write_all(int fd, const char *bytes, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, bytes, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        bytes += n;
        len -= (size_t)n;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        fprintf(stderr, "usage: tool NAME [--key value]... | tool NAME --json '{...}'\n");
        return 2;
    }
    const char *named = getenv("STOCKADE_TOOLS_FD");
    if (named == NULL || *named == '\0') return fail("this run has no host tools");
    char *end = NULL;
    long channel = strtol(named, &end, 10);
    if (*end != '\0' || channel < 0 || channel > 65535) return fail("STOCKADE_TOOLS_FD is not a descriptor");

    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return fail("cannot make a socket pair");
    char byte = 'c';
    struct iovec io = {.iov_base = &byte, .iov_len = 1};
    union {
        struct cmsghdr header;
        char space[CMSG_SPACE(sizeof(int))];
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr message = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = control.space,
                             .msg_controllen = sizeof control.space};
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(header), &pair[1], sizeof(int));
    if (sendmsg((int)channel, &message, MSG_NOSIGNAL) != 1) return fail("the host's tool channel is closed");
    close(pair[1]);

    for (int i = 1; i < argc; i++) {
        if (write_all(pair[0], argv[i], strlen(argv[i]) + 1) != 0) return fail("the host stopped reading");
    }
    shutdown(pair[0], SHUT_WR);

    size_t used = 0, room = 4096;
    char *answer = malloc(room);
    if (answer == NULL) return fail("out of memory");
    for (;;) {
        if (used == room) {
            if (room >= MAX_ANSWER) return fail("the answer is too long");
            room *= 2;
            char *grown = realloc(answer, room);
            if (grown == NULL) return fail("out of memory");
            answer = grown;
        }
        ssize_t n = read(pair[0], answer + used, room - used);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail("cannot read the host's answer");
        if (n == 0) break;
        used += (size_t)n;
    }
    if (used == 0) return fail("the host gave no answer");
    int ok = answer[0] == '0';
    /* One write of the whole line, so that the lines of calls run at once
     * (`tool a & tool b`) do not interleave (a pipe keeps a write of up to
     * PIPE_BUF bytes whole). */
    const char *prefix = ok ? "" : "tool: ";
    size_t length = strlen(prefix) + (used - 1) + 1;
    char *line = malloc(length);
    if (line == NULL) return fail("out of memory");
    memcpy(line, prefix, strlen(prefix));
    memcpy(line + strlen(prefix), answer + 1, used - 1);
    line[length - 1] = '\n';
    if (write_all(ok ? 1 : 2, line, length) != 0) return 2;
    return ok ? 0 : 1;
}
