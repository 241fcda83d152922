/* Caption / prompt stage file writer. */
#include "capfile.h"

#include <string.h>

#include "jsonw.h"

void capfile_begin(struct capfile *c)
{
	buf_clear(&c->out);
	c->n = 0;
}

int capfile_add(struct capfile *c, const char *key, size_t key_len,
		const char *text, size_t text_len)
{
	struct buf *o = &c->out;
	char name[4096];

	if (key_len + 6 > sizeof(name))
		return -1;
	memcpy(name, key, key_len);
	memcpy(name + key_len, ".json", 5);
	if (buf_append(o, c->n ? ",\n    " : "{\n    ", 6) ||
	    jsonw_string(o, name, key_len + 5) || buf_append(o, ": ", 2) ||
	    jsonw_string(o, text, text_len))
		return -1;
	c->n++;
	return 0;
}

int capfile_end(struct capfile *c)
{
	if (c->n == 0)
		return buf_append(&c->out, "{}", 2);
	return buf_append(&c->out, "\n}", 2);
}

void capfile_release(struct capfile *c)
{
	buf_release(&c->out);
}
