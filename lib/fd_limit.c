// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "fd_limit.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>

#include "log.h"

void ts_raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			ts_log(TS_LOG_WARN, "cannot raise the fd limit: %s", strerror(errno));
	}
}
