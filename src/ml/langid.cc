// Language identification over fastText 0.9.2 (C++), behind the C interface
// of langid.h. No C++ exception crosses that interface.
#include "ml/langid.h"

#include <fasttext/fasttext.h>

#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <istream>
#include <new>
#include <streambuf>
#include <string>
#include <vector>

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace
{

// FastText::checkModel (magic number and format version) is protected; this
// lets langid_open load from its own stream, which it sets to throw on a
// short read: fastText does not check its reads, and on a truncated file
// Dictionary::load would loop for ever on in.get() == EOF.
struct checked_model : fasttext::FastText {
	bool check_header(std::istream &in)
	{
		return checkModel(in);
	}
};

// An istream source over bytes we already hold, so that a prediction copies
// the caption once (into the cleaned buffer) and allocates nothing for the
// stream. fastText's tokenizer reads with sbumpc / sungetc only.
class span_buf : public std::streambuf
{
      public:
	void set(char *p, size_t n)
	{
		setg(p, p, p + n);
	}
};

// Per-thread scratch, reused across calls and handles: the handle itself
// stays read-only after langid_open, which is what makes it shareable.
struct scratch {
	std::string text; // caption, control bytes -> ' ', plus "\n"
	std::vector<int32_t> words, labels;
	fasttext::Predictions preds;
	span_buf sb;
	std::istream in{&sb};
};

thread_local scratch tls;

} // namespace

struct langid {
	checked_model ft;
	std::shared_ptr<const fasttext::Dictionary> dict;
	// Label i without the "__label__" prefix, looked up once at open so
	// that a prediction does not build a std::string.
	std::vector<std::string> labels;
};

// Copies text into s.text with every ASCII control byte (and DEL) turned
// into a space, then appends the "\n" that fastText's Python predict()
// appends (it adds the end-of-sentence token, which changes the scores).
// UTF-8 multi-byte sequences never contain bytes < 0x80, so this is safe
// byte by byte. Returns 0 when nothing but spaces remains.
static int clean_text(scratch &s, const char *text, size_t len)
{
	int any = 0;

	s.text.resize(len + 1);
	char *d = &s.text[0];
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c < 0x20 || c == 0x7f)
			c = ' ';
		any |= c != ' ';
		d[i] = (char)c;
	}
	d[len] = '\n';
	return any;
}

// The prediction shared by langid_predict and langid_is; *label_id = -1 for
// empty text. May throw (std::bad_alloc).
static void predict_top1(const struct langid *l, const char *text, size_t len,
			 int32_t *label_id, float *prob)
{
	scratch &s = tls;

	*label_id = -1;
	*prob = 0;
	if (!clean_text(s, text, len))
		return;
	s.sb.set(&s.text[0], s.text.size());
	s.in.clear();
	l->dict->getLine(s.in, s.words, s.labels);
	s.preds.clear();
	l->ft.predict(1, s.words, s.preds, 0.0);
	if (s.preds.empty())
		return;
	// fastText scores are log-probabilities; predictLine and the Python
	// binding report exp() of them, and so do we.
	*label_id = s.preds[0].second;
	*prob = std::exp(s.preds[0].first);
}

static int load(struct langid *l, const char *path, struct hy_err *err)
{
	std::ifstream in(path, std::ios::binary);

	if (!in.is_open())
		return hy_err_set(err, HY_EFATAL, "%s: cannot open model",
				  path);
	in.exceptions(std::ios::failbit | std::ios::badbit);
	try {
		if (!l->ft.check_header(in))
			return hy_err_set(err, HY_EFATAL,
					  "%s: not a fastText model (bad magic "
					  "number or format version)",
					  path);
	} catch (const std::ios_base::failure &) {
		return hy_err_set(err, HY_EFATAL,
				  "%s: not a fastText model (too short)", path);
	}
	try {
		l->ft.loadModel(in);
	} catch (const std::ios_base::failure &) {
		return hy_err_set(err, HY_EFATAL,
				  "%s: truncated or damaged fastText model",
				  path);
	}
	fasttext::Args args = l->ft.getArgs();
	if (args.model != fasttext::model_name::sup)
		return hy_err_set(err, HY_EFATAL,
				  "%s: fastText model is word vectors, not a "
				  "classifier",
				  path);
	l->dict = l->ft.getDictionary();
	int32_t n = l->dict->nlabels();
	if (n <= 0)
		return hy_err_set(err, HY_EFATAL, "%s: model has no labels",
				  path);
	l->labels.reserve((size_t)n);
	for (int32_t i = 0; i < n; i++) {
		std::string name = l->dict->getLabel(i);
		if (name.compare(0, args.label.size(), args.label) == 0)
			name.erase(0, args.label.size());
		if (name.size() >= LANGID_LABEL_MAX)
			return hy_err_set(err, HY_EFATAL,
					  "%s: label '%s' longer than %d bytes",
					  path, name.c_str(),
					  LANGID_LABEL_MAX - 1);
		l->labels.push_back(name);
	}
	return HY_OK;
}

extern "C" int langid_open(struct langid **out, const char *model_path,
			   struct hy_err *err)
{
	struct langid *l = nullptr;
	struct stat st;
	int ret;

	*out = nullptr;
	// stat / open first, for the errno the ifstream would not tell us.
	int fd = open(model_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hy_err_set(err, HY_EFATAL, "%s: cannot open model: %s",
				  model_path, strerror(errno));
	ret = fstat(fd, &st);
	close(fd);
	if (ret != 0 || !S_ISREG(st.st_mode))
		return hy_err_set(err, HY_EFATAL,
				  "%s: model is not a regular file",
				  model_path);
	try {
		l = new langid();
		ret = load(l, model_path, err);
	} catch (const std::bad_alloc &) {
		ret = hy_err_set(err, HY_EFATAL,
				 "%s: out of memory loading model (damaged "
				 "fastText model?)",
				 model_path);
	} catch (const std::exception &e) {
		ret = hy_err_set(err, HY_EFATAL,
				 "%s: cannot load fastText model: %s",
				 model_path, e.what());
	} catch (...) {
		ret = hy_err_set(err, HY_EFATAL,
				 "%s: cannot load fastText model", model_path);
	}
	if (ret != HY_OK) {
		delete l;
		return ret;
	}
	*out = l;
	return HY_OK;
}

extern "C" int langid_predict(struct langid *l, const char *text, size_t len,
			      char *label, size_t label_size, float *prob)
{
	int32_t id;

	if (label_size < LANGID_LABEL_MAX)
		return HY_EFATAL;
	try {
		predict_top1(l, text, len, &id, prob);
	} catch (...) {
		label[0] = '\0';
		*prob = 0;
		return HY_EFATAL;
	}
	if (id < 0) {
		label[0] = '\0';
		return HY_OK;
	}
	const std::string &name = l->labels[(size_t)id];
	memcpy(label, name.c_str(), name.size() + 1);
	return HY_OK;
}

extern "C" int langid_is(struct langid *l, const char *text, size_t len,
			 const char *const *langs, size_t nlangs,
			 float min_score, int *yes, struct hy_err *err)
{
	int32_t id;
	float prob;

	*yes = 0;
	try {
		predict_top1(l, text, len, &id, &prob);
	} catch (...) {
		return hy_err_set(err, HY_EFATAL,
				  "language identification: out of memory");
	}
	if (id < 0 || prob < min_score)
		return HY_OK;
	const std::string &name = l->labels[(size_t)id];
	for (size_t i = 0; i < nlangs; i++) {
		if (name == langs[i]) {
			*yes = 1;
			break;
		}
	}
	return HY_OK;
}

static char default_model[PATH_MAX];

static int is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

extern "C" const char *langid_default_model(void)
{
	static const char rel[] = "/.cache/models/lid.176.ftz";
	char dir[PATH_MAX], fallback[PATH_MAX];
	char *slash;
	int first = 1;
	ssize_t n;

	n = readlink("/proc/self/exe", dir, sizeof(dir) - sizeof(rel));
	if (n <= 0 || (size_t)n >= sizeof(dir) - sizeof(rel)) {
		snprintf(default_model, sizeof(default_model), "%s", rel + 1);
		return default_model;
	}
	dir[n] = '\0';
	// /proc/self/exe is absolute with symlinks resolved, so cutting at the
	// last '/' gives the parent: first the executable's directory, then
	// each directory above it.
	*strrchr(dir, '/') = '\0';
	snprintf(fallback, sizeof(fallback), "%s", rel + 1);
	while ((slash = strrchr(dir, '/'))) {
		*slash = '\0';
		// Fits: readlink left room for rel.
		size_t dl = strlen(dir);
		memcpy(default_model, dir, dl);
		memcpy(default_model + dl, rel, sizeof(rel));
		if (is_file(default_model))
			return default_model;
		if (first) // <exe dir>/.., the place named when none is found
			memcpy(fallback, default_model, sizeof(fallback));
		first = 0;
	}
	memcpy(default_model, fallback, sizeof(default_model));
	return default_model;
}

extern "C" void langid_close(struct langid *l)
{
	delete l;
}
