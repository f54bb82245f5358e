/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Printable names of the tag's statuses and match kinds (actions: config.h). */
#ifndef TS_NAMES_H
#define TS_NAMES_H

const char *ts_status_name(unsigned status);
const char *ts_match_name(unsigned match);

#endif /* TS_NAMES_H */
