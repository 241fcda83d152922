/* Block allocator for strings that live as long as their list. */
#include "util/strpool.h"

#include <stdlib.h>
#include <string.h>

#define STRPOOL_BLOCK (64u << 10)

struct strpool_block {
	struct strpool_block *next;
	size_t used, size;
	char data[];
};

char *strpool_add(struct strpool *p, const char *s, size_t len)
{
	struct strpool_block *b = p->head;
	char *d;

	if (len >= (size_t)-1 - sizeof(*b) - STRPOOL_BLOCK)
		return NULL;
	if (!b || b->size - b->used < len + 1) {
		size_t size = len + 1 > STRPOOL_BLOCK ? len + 1 : STRPOOL_BLOCK;
		b = malloc(sizeof(*b) + size);
		if (!b)
			return NULL;
		b->next = p->head;
		b->used = 0;
		b->size = size;
		p->head = b;
	}
	d = b->data + b->used;
	memcpy(d, s, len);
	d[len] = '\0';
	b->used += len + 1;
	return d;
}

void strpool_release(struct strpool *p)
{
	while (p->head) {
		struct strpool_block *b = p->head;
		p->head = b->next;
		free(b);
	}
}
