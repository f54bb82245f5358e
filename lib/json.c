// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "json.h"

void ts_json_string(FILE *out, const void *bytes, size_t len)
{
	const unsigned char *p = bytes;

	fputc('"', out);
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '"' || p[i] == '\\')
			fprintf(out, "\\%c", p[i]);
		else if (p[i] < 0x20 || p[i] > 0x7e)
			fprintf(out, "\\u%04x", p[i]);
		else
			fputc(p[i], out);
	}
	fputc('"', out);
}
