/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* A circular doubly linked list: a worker's connections by state, each in
 * deadline (FIFO) or activity (LRU) order. */
#ifndef TS_LIST_H
#define TS_LIST_H

struct ts_list {
	struct ts_list *prev, *next;
};

static inline void ts_list_init(struct ts_list *l)
{
	l->prev = l->next = l;
}

static inline void ts_list_del(struct ts_list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = n;
}

static inline void ts_list_add_tail(struct ts_list *head, struct ts_list *n)
{
	n->prev = head->prev;
	n->next = head;
	head->prev->next = n;
	head->prev = n;
}

static inline int ts_list_empty(const struct ts_list *l)
{
	return l->next == l;
}

#endif /* TS_LIST_H */
