/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Resumption bound to the policy (resume.c, security invariant 4). */
#ifndef TS_RESUME_H
#define TS_RESUME_H

#include <stdbool.h>
#include <stdint.h>
#include <openssl/ssl.h>

struct ts_decision;

/* Computes d's binding from the decision, the digest of its CA set
 * (ca_digest, 32 bytes) and sha256, and makes d the one the ticket
 * callbacks of ssl check against. Returns 0 or -ENOMEM. */
int ts_resume_bind(SSL *ssl, const EVP_MD *sha256, const uint8_t *ca_digest,
		   struct ts_decision *d);
/* Installs the ticket callbacks on ctx. Returns 0 or -EINVAL. */
int ts_resume_setup(SSL_CTX *ctx);
/* False when a resumed session was made under another binding. */
bool ts_resume_bound(SSL *ssl, const struct ts_decision *d);

#endif /* TS_RESUME_H */
