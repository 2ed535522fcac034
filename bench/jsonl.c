/* jsonl.c - JSON lines between a bench tool and its driver (jsonl.h). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <re.h>
#include "jsonl.h"

static struct {
	jsonl_line_h *h;
	char line[1 << 16];
	size_t len;
} in;

void jsonl_emit(cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);
	if (s) {
		printf("%s\n", s);
		fflush(stdout);
		cJSON_free(s);
	}
	cJSON_Delete(o);
}

void jsonl_error(const char *what, const char *detail)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "event", "error");
	cJSON_AddStringToObject(o, "what", what);
	cJSON_AddStringToObject(o, "detail", detail ? detail : "");
	jsonl_emit(o);
}

static void on_stdin(int flags, void *arg)
{
	ssize_t n;
	char *start, *nl;
	(void)flags;
	(void)arg;
	n = read(STDIN_FILENO, in.line + in.len, sizeof(in.line) - 1 - in.len);
	if (n <= 0) { /* the driver went away */
		re_cancel();
		return;
	}
	in.len += (size_t)n;
	in.line[in.len] = '\0';
	start = in.line;
	while ((nl = strchr(start, '\n'))) {
		*nl = '\0';
		if (nl > start)
			in.h(start);
		start = nl + 1;
	}
	in.len -= (size_t)(start - in.line);
	memmove(in.line, start, in.len);
	if (in.len == sizeof(in.line) - 1)
		in.len = 0; /* a line too long for any command */
}

int jsonl_listen(jsonl_line_h *h)
{
	in.h = h;
	return fd_listen(STDIN_FILENO, FD_READ, on_stdin, NULL);
}

void jsonl_close(void)
{
	fd_close(STDIN_FILENO);
}
