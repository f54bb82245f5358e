// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The TLS 1.3 record layer of a handed-off server connection (see
 * tls_record.h; RFC 8446 section 5).
 *
 * Receiving: one recv() brings as many records as fit the input buffer;
 * each is decrypted in place and its application data copied out, so a
 * recv of several records costs one system call. A record that fails
 * authentication is wiped before anything else looks at the buffer.
 * Sending: the caller's bytes are cut into records built side by side in
 * one output buffer and go out with one send(); what the socket does not
 * take waits there (bounded by TX_CAP). Both buffers exist only while
 * bytes are in them.
 *
 * One EVP_CIPHER_CTX per direction holds the key; per record only the
 * nonce (iv XOR sequence number, 5.3) is set.
 */
#include "tls_record.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "tls13_kdf.h"

/* RFC 8446 5.1, 5.2: record header, limits, content types. */
#define TLS_RECORD_HEADER 5
#define TLS_MAX_PLAINTEXT 16384                        /* 2^14 */
#define TLS_MAX_CIPHERTEXT (TLS_MAX_PLAINTEXT + 256)   /* 2^14 + 256 */
#define TLS_LEGACY_VERSION 0x0303
#define TLS_CT_CHANGE_CIPHER_SPEC 20
#define TLS_CT_ALERT 21
#define TLS_CT_HANDSHAKE 22
#define TLS_CT_APPLICATION_DATA 23
/* 4.6.3: KeyUpdate is handshake type 24 with a one-byte body. */
#define TLS_HS_KEY_UPDATE 24
#define TLS_HS_HEADER 4
#define TLS_KEY_UPDATE_LEN (TLS_HS_HEADER + 1)
#define TLS_UPDATE_NOT_REQUESTED 0
#define TLS_UPDATE_REQUESTED 1
/* 6: an alert is a level and a description. */
#define TLS_ALERT_LEN 2
#define TLS_ALERT_WARNING 1
#define TLS_ALERT_CLOSE_NOTIFY 0
/* All three suites have a 16-byte tag. */
#define AEAD_TAG_LEN 16
/* What a record adds to its plaintext: header, inner content type, tag. */
#define RECORD_OVERHEAD (TLS_RECORD_HEADER + 1 + AEAD_TAG_LEN)
/* The largest record a peer may send. */
#define RECORD_MAX (TLS_RECORD_HEADER + TLS_MAX_CIPHERTEXT)

/* Input: a whole record and as much of the next as one recv() brings. */
#define RX_CAP (2 * RECORD_MAX)
/* Output: four full records a send() (64 KiB of plaintext), plus room for
 * the control records (KeyUpdate, close_notify) queued ahead of or after
 * data, so that those always fit. */
#define TX_DATA_CAP (4 * (TLS_MAX_PLAINTEXT + RECORD_OVERHEAD))
#define TX_CAP (TX_DATA_CAP + 2 * (RECORD_OVERHEAD + TLS_KEY_UPDATE_LEN))

struct suite {
	uint16_t id;
	const char *cipher_name;
	const char *digest; /* the suite's hash: HKDF and secret length */
	size_t hash_len;
	EVP_CIPHER *cipher; /* fetched once */
};

static struct suite suites[] = {
	{ TS_REC_AES_128_GCM_SHA256, "AES-128-GCM", "SHA256", 32, NULL },
	{ TS_REC_AES_256_GCM_SHA384, "AES-256-GCM", "SHA384", 48, NULL },
	{ TS_REC_CHACHA20_POLY1305_SHA256, "ChaCha20-Poly1305", "SHA256", 32, NULL },
};
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

struct rec_dir {
	EVP_CIPHER_CTX *ctx; /* keyed; per record only the nonce changes */
	uint8_t secret[TS_REC_SECRET_MAX];
	uint8_t iv[TS_TLS13_IV_LEN];
	uint64_t seq;
};

struct ts_rec {
	const struct suite *suite;
	struct rec_dir rx, tx;
	uint8_t *in;                   /* RX_CAP bytes or NULL */
	size_t in_start, in_end;       /* received, not yet decrypted */
	size_t plain_start, plain_end; /* decrypted, not yet delivered */
	uint8_t *out;                  /* TX_CAP bytes or NULL */
	size_t out_start, out_end;     /* protected, not yet sent */
	int rx_err, tx_err;            /* sticky errno */
	int peer_alert;                /* its description, -1 before one */
	bool rx_closed;                /* close_notify or EOF */
	bool rx_end_unseen;            /* closed or failed after data the caller got */
	bool update_owed;              /* the peer asked for our KeyUpdate */
	bool close_sent;
};

enum rx_step {
	RX_NEED_MORE,
	RX_DATA,
	RX_CONTROL,
	RX_CLOSED,
};

static void fetch_ciphers(void)
{
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		suites[i].cipher = EVP_CIPHER_fetch(NULL, suites[i].cipher_name, NULL);
}

static const struct suite *suite_of(uint16_t id)
{
	pthread_once(&fetch_once, fetch_ciphers);
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		if (suites[i].id == id)
			return suites[i].cipher ? &suites[i] : NULL;
	return NULL;
}

bool ts_rec_suite_supported(uint16_t suite)
{
	return suite_of(suite) != NULL;
}

static ssize_t fail(int err)
{
	errno = err;
	return -1;
}

/* ---- keys ---- */

/* Keys ctx from d->secret (7.3); the sequence number is the caller's. */
static int dir_key(const struct suite *s, struct rec_dir *d, int enc)
{
	uint8_t key[EVP_MAX_KEY_LENGTH];
	size_t key_len = (size_t)EVP_CIPHER_get_key_length(s->cipher);
	int err;

	err = ts_tls13_expand_label(s->digest, d->secret, s->hash_len, "key", key, key_len);
	if (!err)
		err = ts_tls13_expand_label(s->digest, d->secret, s->hash_len, "iv", d->iv, sizeof(d->iv));
	if (!err && EVP_CipherInit_ex2(d->ctx, s->cipher, key, NULL, enc, NULL) != 1)
		err = -ENOMEM;
	OPENSSL_cleanse(key, sizeof(key));
	return err;
}

/* KeyUpdate (7.2): the next traffic secret, its key, sequence 0. */
static int dir_update(const struct suite *s, struct rec_dir *d, int enc)
{
	uint8_t next[TS_REC_SECRET_MAX];
	int err = ts_tls13_expand_label(s->digest, d->secret, s->hash_len, "traffic upd", next, s->hash_len);

	if (!err) {
		memcpy(d->secret, next, s->hash_len);
		d->seq = 0;
		err = dir_key(s, d, enc);
	}
	OPENSSL_cleanse(next, sizeof(next));
	return err;
}

/* 5.3: the sequence number, left-padded to the IV length, XOR the IV. Sets
 * it on ctx; refuses the last sequence number rather than wrap. */
static int dir_nonce(struct rec_dir *d)
{
	uint8_t nonce[TS_TLS13_IV_LEN];

	if (d->seq == UINT64_MAX)
		return -EOVERFLOW;
	memcpy(nonce, d->iv, sizeof(nonce));
	for (int i = 0; i < 8; i++)
		nonce[TS_TLS13_IV_LEN - 1 - i] ^= (uint8_t)(d->seq >> (8 * i));
	return EVP_CipherInit_ex2(d->ctx, NULL, NULL, nonce, -1, NULL) == 1 ? 0 : -EIO;
}

/* ---- protecting ---- */

/* Builds one record of inner type `type` around len bytes at rec (header,
 * ciphertext, tag), encrypting from pt straight into it (the AEAD modes
 * are streams: the inner content type is one more byte of the same
 * stream). Its size or negative errno. */
static int seal(struct rec_dir *d, uint8_t type, const void *pt, size_t len, uint8_t *rec)
{
	size_t inner = len + 1, body = inner + AEAD_TAG_LEN;
	uint8_t *p = rec + TLS_RECORD_HEADER;
	int outl, err = dir_nonce(d);

	if (err)
		return err;
	rec[0] = TLS_CT_APPLICATION_DATA;
	rec[1] = TLS_LEGACY_VERSION >> 8;
	rec[2] = TLS_LEGACY_VERSION & 0xff;
	rec[3] = (uint8_t)(body >> 8);
	rec[4] = (uint8_t)body;
	if (EVP_CipherUpdate(d->ctx, NULL, &outl, rec, TLS_RECORD_HEADER) != 1 ||
	    EVP_CipherUpdate(d->ctx, p, &outl, pt, (int)len) != 1 ||
	    EVP_CipherUpdate(d->ctx, p + len, &outl, &type, 1) != 1 ||
	    EVP_CipherFinal_ex(d->ctx, p + inner, &outl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(d->ctx, EVP_CTRL_AEAD_GET_TAG, AEAD_TAG_LEN, p + inner) != 1)
		return -EIO;
	d->seq++;
	return (int)(TLS_RECORD_HEADER + body);
}

static size_t out_queued(const struct ts_rec *r)
{
	return r->out_end - r->out_start;
}

/* An output buffer with the queued bytes at its start. */
static int out_reserve(struct ts_rec *r)
{
	if (!r->out) {
		r->out = malloc(TX_CAP);
		r->out_start = r->out_end = 0;
		return r->out ? 0 : -ENOMEM;
	}
	if (r->out_start) {
		memmove(r->out, r->out + r->out_start, out_queued(r));
		r->out_end -= r->out_start;
		r->out_start = 0;
	}
	return 0;
}

static void out_release_if_empty(struct ts_rec *r)
{
	if (r->out && !out_queued(r)) {
		free(r->out);
		r->out = NULL;
		r->out_start = r->out_end = 0;
	}
}

/* Appends one record to the queue (out_reserve first; TX_CAP leaves room
 * for the control records). 0 or negative errno (sticky). */
static int queue_record(struct ts_rec *r, uint8_t type, const void *pt, size_t len)
{
	int n = seal(&r->tx, type, pt, len, r->out + r->out_end);

	if (n < 0) {
		r->tx_err = -n;
		return n;
	}
	r->out_end += (size_t)n;
	return 0;
}

/* 4.6.3: ours, update_not_requested, then our new key. */
static int queue_key_update(struct ts_rec *r)
{
	static const uint8_t msg[TLS_KEY_UPDATE_LEN] = { TLS_HS_KEY_UPDATE, 0, 0, 1, TLS_UPDATE_NOT_REQUESTED };
	int err = queue_record(r, TLS_CT_HANDSHAKE, msg, sizeof(msg));

	if (!err)
		err = dir_update(r->suite, &r->tx, 1);
	if (err && !r->tx_err)
		r->tx_err = -err;
	r->update_owed = false;
	return err;
}

/* One send() of the queue. 0 when it is empty, else -1 with errno. */
static int push(struct ts_rec *r, int fd)
{
	ssize_t n = send(fd, r->out + r->out_start, out_queued(r), MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			r->tx_err = errno;
		return -1;
	}
	r->out_start += (size_t)n;
	if (out_queued(r))
		return (int)fail(EAGAIN);
	out_release_if_empty(r);
	return 0;
}

ssize_t ts_rec_send(struct ts_rec *r, int fd, const void *buf, size_t len)
{
	size_t taken = 0;
	int err;

	if (r->tx_err)
		return fail(r->tx_err);
	if (r->close_sent)
		return fail(EPIPE);
	if (!len)
		return 0;
	if (r->out && push(r, fd) < 0 && errno != EAGAIN)
		return -1;
	err = out_reserve(r);
	if (!err && r->update_owed)
		err = queue_key_update(r);
	if (err)
		return fail(-err);
	while (taken < len && r->out_end + RECORD_OVERHEAD < TX_DATA_CAP) {
		size_t chunk = len - taken, room = TX_DATA_CAP - r->out_end - RECORD_OVERHEAD;

		if (chunk > TLS_MAX_PLAINTEXT)
			chunk = TLS_MAX_PLAINTEXT;
		if (chunk > room)
			chunk = room;
		err = queue_record(r, TLS_CT_APPLICATION_DATA, (const uint8_t *)buf + taken, chunk);
		if (err)
			return fail(-err);
		taken += chunk;
	}
	if (!taken) {
		out_release_if_empty(r);
		return fail(EAGAIN);
	}
	if (push(r, fd) < 0 && errno != EAGAIN)
		return -1;
	return (ssize_t)taken;
}

int ts_rec_flush(struct ts_rec *r, int fd)
{
	if (r->tx_err)
		return (int)fail(r->tx_err);
	if (!r->out)
		return 0;
	return push(r, fd);
}

int ts_rec_close_notify(struct ts_rec *r, int fd)
{
	static const uint8_t alert[TLS_ALERT_LEN] = { TLS_ALERT_WARNING, TLS_ALERT_CLOSE_NOTIFY };
	int err;

	if (r->tx_err)
		return (int)fail(r->tx_err);
	if (!r->close_sent) {
		err = out_reserve(r);
		if (!err)
			err = queue_record(r, TLS_CT_ALERT, alert, sizeof(alert));
		if (err)
			return (int)fail(-err);
		r->close_sent = true;
	}
	return push(r, fd);
}

bool ts_rec_want_write(const struct ts_rec *r)
{
	return out_queued(r) > 0;
}

/* ---- receiving ---- */

/* Decrypts the record at rec (header and body bytes) in place: the inner
 * plaintext's length, or -EBADMSG with the unauthenticated bytes wiped. */
static int open_record(struct rec_dir *d, uint8_t *rec, size_t body)
{
	size_t ct = body - AEAD_TAG_LEN;
	uint8_t *p = rec + TLS_RECORD_HEADER;
	int outl, err = dir_nonce(d);

	if (err)
		return err;
	if (EVP_CipherUpdate(d->ctx, NULL, &outl, rec, TLS_RECORD_HEADER) != 1 ||
	    EVP_CipherUpdate(d->ctx, p, &outl, p, (int)ct) != 1 ||
	    EVP_CIPHER_CTX_ctrl(d->ctx, EVP_CTRL_AEAD_SET_TAG, AEAD_TAG_LEN, p + ct) != 1 ||
	    EVP_CipherFinal_ex(d->ctx, p + ct, &outl) != 1) {
		OPENSSL_cleanse(p, ct);
		return -EBADMSG;
	}
	d->seq++;
	return (int)ct;
}

/* 4.6.3: a KeyUpdate ends its record (5.1: no message spans a key change),
 * so the whole record is that one message. */
static int on_handshake(struct ts_rec *r, const uint8_t *p, size_t len)
{
	int err;

	if (len != TLS_KEY_UPDATE_LEN || p[0] != TLS_HS_KEY_UPDATE || p[1] || p[2] || p[3] != 1 ||
	    p[4] > TLS_UPDATE_REQUESTED)
		return -EBADMSG;
	err = dir_update(r->suite, &r->rx, 0);
	if (err)
		return err;
	if (p[4] == TLS_UPDATE_REQUESTED)
		r->update_owed = true;
	return RX_CONTROL;
}

static int on_alert(struct ts_rec *r, const uint8_t *p, size_t len)
{
	if (len != TLS_ALERT_LEN)
		return -EBADMSG;
	r->peer_alert = p[1];
	if (p[1] != TLS_ALERT_CLOSE_NOTIFY)
		return -ECONNRESET;
	r->rx_closed = true;
	return RX_CLOSED;
}

/* Opens the next whole record in the buffer: an rx_step or negative errno. */
static int next_record(struct ts_rec *r)
{
	size_t avail = r->in_end - r->in_start, body, len;
	uint8_t *rec = r->in + r->in_start, *p = rec + TLS_RECORD_HEADER, type;
	int n;

	if (avail < TLS_RECORD_HEADER)
		return RX_NEED_MORE;
	/* 5.2: every record is application_data outside; a change_cipher_spec
	 * after the handshake, or any plaintext record, is a protocol error. */
	if (rec[0] != TLS_CT_APPLICATION_DATA)
		return -EBADMSG;
	body = (size_t)rec[3] << 8 | rec[4];
	if (body > TLS_MAX_CIPHERTEXT || body <= AEAD_TAG_LEN)
		return -EBADMSG;
	if (avail < TLS_RECORD_HEADER + body)
		return RX_NEED_MORE;
	r->in_start += TLS_RECORD_HEADER + body;
	n = open_record(&r->rx, rec, body);
	if (n < 0)
		return n;
	/* 5.4: the content type is the last non-zero byte; zeros are padding. */
	for (len = (size_t)n; len && !p[len - 1]; len--)
		;
	if (!len || len - 1 > TLS_MAX_PLAINTEXT)
		return -EBADMSG;
	type = p[--len];
	switch (type) {
	case TLS_CT_APPLICATION_DATA:
		r->plain_start = (size_t)(p - r->in);
		r->plain_end = r->plain_start + len;
		return RX_DATA;
	case TLS_CT_ALERT:
		return on_alert(r, p, len);
	case TLS_CT_HANDSHAKE:
		return on_handshake(r, p, len);
	}
	return -EBADMSG;
}

static size_t take_plain(struct ts_rec *r, uint8_t *buf, size_t len)
{
	size_t n = r->plain_end - r->plain_start;

	if (!n)
		return 0;
	if (n > len)
		n = len;
	memcpy(buf, r->in + r->plain_start, n);
	r->plain_start += n;
	return n;
}

/* One recv() behind what the buffer holds: 1 bytes came, 0 EOF, or
 * negative errno. */
static int fill(struct ts_rec *r, int fd)
{
	ssize_t n;

	if (!r->in) {
		r->in = malloc(RX_CAP);
		if (!r->in)
			return -ENOMEM;
		r->in_start = r->in_end = r->plain_start = r->plain_end = 0;
	} else if (r->in_start) {
		memmove(r->in, r->in + r->in_start, r->in_end - r->in_start);
		r->in_end -= r->in_start;
		r->in_start = r->plain_start = r->plain_end = 0;
	}
	n = recv(fd, r->in + r->in_end, RX_CAP - r->in_end, MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	r->in_end += (size_t)n;
	return n > 0;
}

static void in_release(struct ts_rec *r, bool wipe)
{
	if (!r->in)
		return;
	if (wipe)
		OPENSSL_cleanse(r->in, RX_CAP);
	free(r->in);
	r->in = NULL;
	r->in_start = r->in_end = r->plain_start = r->plain_end = 0;
}

/* Reads records into buf until it is full or no whole record is left,
 * recv()ing only while nothing was delivered. The bytes delivered; *wait
 * is EAGAIN when the socket had nothing more (0 otherwise). */
static size_t read_records(struct ts_rec *r, int fd, uint8_t *buf, size_t len, int *wait)
{
	size_t got = 0;
	int step, n;

	*wait = 0;
	while (got < len && !r->rx_closed && !r->rx_err) {
		got += take_plain(r, buf + got, len - got);
		if (got == len)
			break;
		step = next_record(r);
		if (step < 0)
			r->rx_err = -step;
		if (step != RX_NEED_MORE)
			continue;
		if (got)
			break;
		n = fill(r, fd);
		if (n == -EAGAIN || n == -EINTR) {
			*wait = EAGAIN;
			break;
		}
		if (n == 0)
			r->rx_closed = true;
		else if (n < 0)
			r->rx_err = -n;
	}
	return got;
}

ssize_t ts_rec_recv(struct ts_rec *r, int fd, void *buf, size_t len)
{
	size_t got;
	int wait;

	if (r->rx_err || (r->rx_closed && !r->in)) {
		r->rx_end_unseen = false; /* said now */
		return r->rx_err ? fail(r->rx_err) : 0;
	}
	got = read_records(r, fd, buf, len, &wait);
	if (r->rx_err)
		in_release(r, true);
	else if (r->rx_closed || (r->in_start == r->in_end && r->plain_start == r->plain_end))
		in_release(r, false);
	r->rx_end_unseen = got && (r->rx_err || r->rx_closed);
	if (got)
		return (ssize_t)got;
	if (r->rx_err)
		return fail(r->rx_err);
	if (wait)
		return fail(wait);
	return 0;
}

/* The buffer starts with a whole record, or with a header no more bytes
 * can make valid: either way the next recv has something to say. */
static bool record_waiting(const struct ts_rec *r)
{
	size_t avail = r->in ? r->in_end - r->in_start : 0, body;
	const uint8_t *rec = r->in ? r->in + r->in_start : NULL;

	if (avail < TLS_RECORD_HEADER)
		return false;
	body = (size_t)rec[3] << 8 | rec[4];
	return rec[0] != TLS_CT_APPLICATION_DATA || body > TLS_MAX_CIPHERTEXT ||
	       avail >= TLS_RECORD_HEADER + body;
}

bool ts_rec_has_input(const struct ts_rec *r)
{
	return r->rx_end_unseen || r->plain_end > r->plain_start || record_waiting(r);
}

/* ---- life ---- */

static int dir_init(const struct suite *s, struct rec_dir *d, const struct ts_rec_dir_params *p, int enc)
{
	if (p->secret_len != s->hash_len)
		return -EINVAL;
	d->ctx = EVP_CIPHER_CTX_new();
	if (!d->ctx)
		return -ENOMEM;
	memcpy(d->secret, p->secret, s->hash_len);
	d->seq = p->seq;
	return dir_key(s, d, enc);
}

int ts_rec_new(struct ts_rec **out, const struct ts_rec_params *p)
{
	const struct suite *s = suite_of(p->suite);
	struct ts_rec *r;
	int err;

	*out = NULL;
	if (!s)
		return -EINVAL;
	r = OPENSSL_zalloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->suite = s;
	r->peer_alert = -1;
	err = dir_init(s, &r->rx, &p->rx, 0);
	if (!err)
		err = dir_init(s, &r->tx, &p->tx, 1);
	if (err) {
		ts_rec_free(r);
		return err;
	}
	*out = r;
	return 0;
}

void ts_rec_free(struct ts_rec *r)
{
	if (!r)
		return;
	EVP_CIPHER_CTX_free(r->rx.ctx);
	EVP_CIPHER_CTX_free(r->tx.ctx);
	in_release(r, true);
	if (r->out)
		OPENSSL_clear_free(r->out, TX_CAP);
	OPENSSL_clear_free(r, sizeof(*r));
}

int ts_rec_peer_alert(const struct ts_rec *r)
{
	return r->peer_alert;
}

size_t ts_rec_buffer_bytes(const struct ts_rec *r)
{
	return (r->in ? RX_CAP : 0) + (r->out ? TX_CAP : 0);
}
