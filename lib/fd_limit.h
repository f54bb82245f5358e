/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The open-file limit of a daemon that holds several fds per connection. */
#ifndef TS_FD_LIMIT_H
#define TS_FD_LIMIT_H

/* Raises the soft RLIMIT_NOFILE to the hard limit; a failure is logged as
 * a warning (the daemon still runs, with fewer connections). */
void ts_raise_fd_limit(void);

#endif /* TS_FD_LIMIT_H */
