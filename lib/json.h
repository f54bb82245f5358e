/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Writing JSON string values. */
#ifndef TS_JSON_H
#define TS_JSON_H

#include <stddef.h>
#include <stdio.h>

/*
 * Writes bytes as a quoted JSON string. Bytes outside printable ASCII are
 * written as \u00XX (the byte's value), so any input stays valid JSON.
 */
void ts_json_string(FILE *out, const void *bytes, size_t len);

#endif /* TS_JSON_H */
