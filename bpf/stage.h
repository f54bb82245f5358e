/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * TS_STAGE marks a parsing stage. In BPF it is a global function, which the
 * verifier checks once on its own, so loops in different stages add up
 * instead of multiplying. In userspace it is an ordinary static function.
 */
#ifndef TS_STAGE_H
#define TS_STAGE_H

#ifdef __bpf__
#define TS_STAGE __attribute__((noinline))
#else
#define TS_STAGE static inline
#endif

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/*
 * ts_loop(n, fn, ctx) calls fn(i, ctx) for i = 0..n-1 until fn returns 1.
 * In BPF it is bpf_loop: the callback is verified once, however many
 * iterations run, where a bounded loop with calls in it makes the verifier
 * walk every combination of paths.
 */
#ifdef __bpf__
#define ts_loop(n, fn, ctx) bpf_loop((n), (fn), (ctx), 0)
#else
static inline void ts_loop(__u32 n, long (*fn)(__u64, void *), void *ctx)
{
	for (__u64 i = 0; i < n; i++)
		if (fn(i, ctx))
			break;
}
#endif

#endif /* TS_STAGE_H */
