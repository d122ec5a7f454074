/*
 * spoolbio.c -- BIO methods for spools (read) and sinks (write).
 */
#include "spoolbio.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sink.h"
#include "spool.h"

struct reader {
	const struct spool *sp;
	uint64_t offset;
};

struct writer {
	const struct sink *out;
	char error[256];
};

static BIO_METHOD *reader_method, *writer_method;
static pthread_once_t methods_once = PTHREAD_ONCE_INIT;

static int
reader_read(BIO *bio, char *buf, int len)
{
	struct reader *r = BIO_get_data(bio);
	char err[128];
	ssize_t n;

	BIO_clear_retry_flags(bio);
	if (len <= 0)
		return 0;
	n = spool_read(r->sp, r->offset, buf, (size_t)len, err, sizeof(err));
	if (n <= 0)
		return n < 0 ? -1 : 0;
	r->offset += (uint64_t)n;
	return (int)n;
}

static long
reader_ctrl(BIO *bio, int cmd, long num, void *ptr)
{
	struct reader *r = BIO_get_data(bio);

	(void)num;
	(void)ptr;
	switch (cmd) {
	case BIO_CTRL_EOF:
		return r->offset >= spool_size(r->sp);
	case BIO_CTRL_RESET:
		r->offset = 0;
		return 1;
	case BIO_CTRL_PENDING:
		return (long)(spool_size(r->sp) - r->offset);
	case BIO_CTRL_FLUSH:
		return 1;
	default:
		return 0;
	}
}

static int
reader_destroy(BIO *bio)
{
	free(BIO_get_data(bio));
	BIO_set_data(bio, NULL);
	return 1;
}

static int
writer_write(BIO *bio, const char *buf, int len)
{
	struct writer *w = BIO_get_data(bio);

	BIO_clear_retry_flags(bio);
	if (len <= 0)
		return 0;
	if (sink_write(w->out, buf, (size_t)len, w->error,
	    sizeof(w->error)) != 0)
		return -1;
	return len;
}

static int
writer_puts(BIO *bio, const char *str)
{
	return writer_write(bio, str, (int)strlen(str));
}

static long
writer_ctrl(BIO *bio, int cmd, long num, void *ptr)
{
	(void)bio;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int
writer_destroy(BIO *bio)
{
	free(BIO_get_data(bio));
	BIO_set_data(bio, NULL);
	return 1;
}

static void
make_methods(void)
{
	reader_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
	    "spool reader");
	if (reader_method != NULL) {
		BIO_meth_set_read(reader_method, reader_read);
		BIO_meth_set_ctrl(reader_method, reader_ctrl);
		BIO_meth_set_destroy(reader_method, reader_destroy);
	}
	writer_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
	    "sink writer");
	if (writer_method != NULL) {
		BIO_meth_set_write(writer_method, writer_write);
		BIO_meth_set_puts(writer_method, writer_puts);
		BIO_meth_set_ctrl(writer_method, writer_ctrl);
		BIO_meth_set_destroy(writer_method, writer_destroy);
	}
}

BIO *
spool_bio_reader(const struct spool *sp)
{
	struct reader *r;
	BIO *bio;

	pthread_once(&methods_once, make_methods);
	if (reader_method == NULL || (r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	if ((bio = BIO_new(reader_method)) == NULL) {
		free(r);
		return NULL;
	}
	r->sp = sp;
	BIO_set_data(bio, r);
	BIO_set_init(bio, 1);
	return bio;
}

BIO *
sink_bio_writer(const struct sink *out)
{
	struct writer *w;
	BIO *bio;

	pthread_once(&methods_once, make_methods);
	if (writer_method == NULL || (w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	if ((bio = BIO_new(writer_method)) == NULL) {
		free(w);
		return NULL;
	}
	w->out = out;
	BIO_set_data(bio, w);
	BIO_set_init(bio, 1);
	return bio;
}

const char *
sink_bio_error(BIO *bio)
{
	struct writer *w = BIO_get_data(bio);

	return w != NULL ? w->error : "";
}
