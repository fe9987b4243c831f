// libedit's readline interface (Debian: libedit-dev), for the command loop's
// line editing and history.
#include <stdio.h>
#include <editline/readline.h>

// libedit is set up through global variables; Swift 6 does not let code touch
// C globals directly, so they are set here, once, before the first read.
static inline void p22p_editline_setup(const char *name, int (*getc_function)(FILE *),
                                       char **(*complete)(const char *, int, int)) {
    rl_readline_name = name;
    rl_getc_function = getc_function;
    rl_attempted_completion_function = complete;
    // Ctrl-C is ours (it drops the line); libedit must not reset the
    // terminal and re-raise it.
    rl_catch_signals = 0;
}
