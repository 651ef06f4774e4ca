/* The validator's hot loop in C: lines of a segment of the file checked and walked in place.
 *
 * Python (dsnlink/norme/speedups.py and Validator.feed_segment) keeps every rule: this loop
 * only goes through the lines that Python's line-by-line walk would pass through without a
 * finding and without anything but a state update, and stops at the first other line, whose
 * offset it returns. Python then checks that line itself (value, block change, hook) exactly
 * as the pure-Python path does, and calls the loop again after it. So the results cannot
 * differ from the pure-Python path as long as "plain" here implies "plain" there.
 *
 * A line is plain when: at most max_line bytes; "<16-byte identifier>,'" known to the table,
 * then a value, then a final apostrophe; the value passes its check (length, printable
 * characters without blank edges, a DFA built from the CT pattern or enumeration, real
 * calendar date); its hook, if any, only copies values into the summary (NIR, employee
 * fields); and, when it starts a block instance, the previous instance has its mandatory
 * rubriques, the rubrique order is respected and the block stack transition is one the
 * structure already remembered (Structure.memo) without finding.
 *
 * The summary hooks of those lines (a new employee, its NIR, its copied fields) are done here
 * on the same Python objects the hooks would touch; a NIR already in the declaration's set
 * is a finding, so that line goes back to Python too.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define KEY_LEN 16

enum { HOOK_NONE = 0, HOOK_NIR = 1, HOOK_FIELD = 2, HOOK_PYTHON = 3 };
enum { F_LENGTH = 1, F_PRINTABLE = 2, F_CALENDAR = 4, F_PYTHON = 8 };

typedef struct {
    uint8_t classes[256];
    uint16_t *next; /* nstates * nclasses */
    uint8_t *accept;
    Py_ssize_t nclasses;
    Py_ssize_t nstates;
} Dfa;

typedef struct {
    uint8_t key[KEY_LEN];
    int used;
    int block;
    long num;
    int mbit; /* bit of the mandatory mask, -1 when optional */
    int hook;
    PyObject *field; /* the summary field a HOOK_FIELD line fills (owned) */
    int flags;
    int dfa; /* -1: none */
    Py_ssize_t lo, hi;
} Entry;

typedef struct {
    PyObject *name; /* the block's name (str), key of Structure.memo (owned) */
    uint64_t mandatory;
    long first; /* a new instance of the same block may start up to this number */
    int walk;   /* has a parent: its transitions are in Structure.memo */
    int employee;
} Block;

typedef struct {
    PyObject_HEAD
    Entry *entries;
    Py_ssize_t capacity; /* power of two */
    Block *blocks;
    Py_ssize_t nblocks;
    Dfa *dfas;
    Py_ssize_t ndfas;
    Py_ssize_t max_line;
} TableObject;

static PyTypeObject TableType;

static uint64_t key_hash(const uint8_t *key) {
    uint64_t a, b;
    memcpy(&a, key, 8);
    memcpy(&b, key + 8, 8);
    uint64_t h = (a ^ (b * 0x9E3779B97F4A7C15ULL)) * 0xBF58476D1CE4E5B9ULL;
    return h ^ (h >> 31);
}

static Entry *lookup(const TableObject *t, const uint8_t *key) {
    Py_ssize_t mask = t->capacity - 1;
    Py_ssize_t i = (Py_ssize_t)(key_hash(key) & (uint64_t)mask);
    for (;;) {
        Entry *e = &t->entries[i];
        if (!e->used)
            return NULL;
        if (memcmp(e->key, key, KEY_LEN) == 0)
            return e;
        i = (i + 1) & mask;
    }
}

static void table_clear(TableObject *t) {
    if (t->entries) {
        for (Py_ssize_t i = 0; i < t->capacity; i++)
            Py_CLEAR(t->entries[i].field);
        PyMem_Free(t->entries);
        t->entries = NULL;
    }
    if (t->blocks) {
        for (Py_ssize_t i = 0; i < t->nblocks; i++)
            Py_CLEAR(t->blocks[i].name);
        PyMem_Free(t->blocks);
        t->blocks = NULL;
    }
    if (t->dfas) {
        for (Py_ssize_t i = 0; i < t->ndfas; i++) {
            PyMem_Free(t->dfas[i].next);
            PyMem_Free(t->dfas[i].accept);
        }
        PyMem_Free(t->dfas);
        t->dfas = NULL;
    }
}

static void table_dealloc(TableObject *t) {
    table_clear(t);
    Py_TYPE(t)->tp_free((PyObject *)t);
}

/* --- construction from the Python tables ------------------------------------------------ */

static int load_dfa(Dfa *d, PyObject *item) {
    const char *classes, *next, *accept;
    Py_ssize_t nclasses, nclasses_len, next_len, accept_len;
    if (!PyArg_ParseTuple(item, "y#ny#y#", &classes, &nclasses_len, &nclasses, &next, &next_len,
                          &accept, &accept_len))
        return -1;
    if (nclasses_len != 256 || nclasses < 1 || accept_len < 2 ||
        next_len != accept_len * nclasses * 2) {
        PyErr_SetString(PyExc_ValueError, "malformed automaton");
        return -1;
    }
    d->nclasses = nclasses;
    d->nstates = accept_len;
    for (int c = 0; c < 256; c++) {
        if ((uint8_t)classes[c] >= nclasses) {
            PyErr_SetString(PyExc_ValueError, "automaton class out of range");
            return -1;
        }
        d->classes[c] = (uint8_t)classes[c];
    }
    d->next = PyMem_Malloc(sizeof(uint16_t) * (size_t)(accept_len * nclasses));
    d->accept = PyMem_Malloc((size_t)accept_len);
    if (!d->next || !d->accept) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < accept_len * nclasses; i++) {
        uint16_t s = (uint16_t)((uint8_t)next[2 * i] | ((uint8_t)next[2 * i + 1] << 8));
        if (s >= accept_len) {
            PyErr_SetString(PyExc_ValueError, "automaton state out of range");
            return -1;
        }
        d->next[i] = s;
    }
    memcpy(d->accept, accept, (size_t)accept_len);
    return 0;
}

static int load_block(Block *b, PyObject *item) {
    PyObject *name;
    unsigned long long mandatory;
    long first;
    int walk, employee;
    if (!PyArg_ParseTuple(item, "UKlpp", &name, &mandatory, &first, &walk, &employee))
        return -1;
    Py_INCREF(name);
    b->name = name;
    b->mandatory = mandatory;
    b->first = first;
    b->walk = walk;
    b->employee = employee;
    return 0;
}

static int load_entry(TableObject *t, PyObject *item) {
    const char *key;
    Py_ssize_t key_len, lo, hi;
    int block, mbit, hook, flags, dfa;
    long num;
    PyObject *field;
    if (!PyArg_ParseTuple(item, "y#iliiOiinn", &key, &key_len, &block, &num, &mbit, &hook,
                          &field, &flags, &dfa, &lo, &hi))
        return -1;
    if (key_len != KEY_LEN || block < 0 || block >= t->nblocks || mbit < -1 || mbit > 63 ||
        hook < HOOK_NONE || hook > HOOK_PYTHON || dfa < -1 || dfa >= t->ndfas ||
        (hook == HOOK_FIELD && !PyUnicode_Check(field))) {
        PyErr_SetString(PyExc_ValueError, "malformed table entry");
        return -1;
    }
    Py_ssize_t mask = t->capacity - 1;
    Py_ssize_t i = (Py_ssize_t)(key_hash((const uint8_t *)key) & (uint64_t)mask);
    while (t->entries[i].used) {
        if (memcmp(t->entries[i].key, key, KEY_LEN) == 0) {
            PyErr_SetString(PyExc_ValueError, "duplicate identifier");
            return -1;
        }
        i = (i + 1) & mask;
    }
    Entry *e = &t->entries[i];
    memcpy(e->key, key, KEY_LEN);
    e->used = 1;
    e->block = block;
    e->num = num;
    e->mbit = mbit;
    e->hook = hook;
    e->flags = flags;
    e->dfa = dfa;
    e->lo = lo;
    e->hi = hi;
    if (hook == HOOK_FIELD) {
        Py_INCREF(field);
        e->field = field;
    }
    return 0;
}

/* Table(entries, blocks, automata, max_line) */
static PyObject *table_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    PyObject *entries, *blocks, *dfas;
    Py_ssize_t max_line;
    if (kwds && PyDict_GET_SIZE(kwds)) {
        PyErr_SetString(PyExc_TypeError, "Table() takes no keyword arguments");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "O!O!O!n", &PyList_Type, &entries, &PyList_Type, &blocks,
                          &PyList_Type, &dfas, &max_line))
        return NULL;
    TableObject *t = (TableObject *)type->tp_alloc(type, 0);
    if (!t)
        return NULL;
    t->max_line = max_line;
    t->ndfas = PyList_GET_SIZE(dfas);
    t->dfas = PyMem_Calloc((size_t)t->ndfas + 1, sizeof(Dfa));
    t->nblocks = PyList_GET_SIZE(blocks);
    t->blocks = PyMem_Calloc((size_t)t->nblocks + 1, sizeof(Block));
    Py_ssize_t n = PyList_GET_SIZE(entries);
    t->capacity = 16;
    while (t->capacity < 2 * n + 1)
        t->capacity *= 2;
    t->entries = PyMem_Calloc((size_t)t->capacity, sizeof(Entry));
    if (!t->dfas || !t->blocks || !t->entries) {
        PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t i = 0; i < t->ndfas; i++)
        if (load_dfa(&t->dfas[i], PyList_GET_ITEM(dfas, i)) < 0)
            goto fail;
    for (Py_ssize_t i = 0; i < t->nblocks; i++)
        if (load_block(&t->blocks[i], PyList_GET_ITEM(blocks, i)) < 0)
            goto fail;
    for (Py_ssize_t i = 0; i < n; i++)
        if (load_entry(t, PyList_GET_ITEM(entries, i)) < 0)
            goto fail;
    return (PyObject *)t;
fail:
    Py_DECREF(t);
    return NULL;
}

/* --- value checks ------------------------------------------------------------------------ */

static int is_calendar_date(const uint8_t *v, Py_ssize_t n) {
    static const int days[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (n != 8)
        return 0;
    for (int i = 0; i < 8; i++)
        if (v[i] < '0' || v[i] > '9')
            return 0;
    int day = (v[0] - '0') * 10 + (v[1] - '0');
    int month = (v[2] - '0') * 10 + (v[3] - '0');
    int year = (v[4] - '0') * 1000 + (v[5] - '0') * 100 + (v[6] - '0') * 10 + (v[7] - '0');
    if (month < 1 || month > 12 || day < 1 || day > days[month - 1])
        return 0;
    int leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    return !(month == 2 && day == 29 && !leap);
}

static int value_ok(const TableObject *t, const Entry *e, const uint8_t *v, Py_ssize_t n) {
    int flags = e->flags;
    if (flags & F_PYTHON)
        return 0;
    if ((flags & F_LENGTH) && (n < e->lo || n > e->hi))
        return 0;
    if (flags & F_PRINTABLE) {
        if (n && (v[0] == ' ' || v[n - 1] == ' '))
            return 0;
        for (Py_ssize_t i = 0; i < n; i++) {
            uint8_t c = v[i];
            if (c < 0x20 || (c >= 0x7f && c < 0xa0))
                return 0;
        }
    }
    if (e->dfa >= 0) {
        const Dfa *d = &t->dfas[e->dfa];
        Py_ssize_t nc = d->nclasses;
        uint16_t s = 1;
        for (Py_ssize_t i = 0; i < n; i++) {
            s = d->next[s * nc + d->classes[v[i]]];
            if (s == 0)
                return 0;
        }
        if (!d->accept[s])
            return 0;
    }
    if ((flags & F_CALENDAR) && !is_calendar_date(v, n))
        return 0;
    return 1;
}

/* Table.check(line) -> bool: whether the loop takes the line's value as valid (tests). */
static PyObject *table_check(TableObject *t, PyObject *arg) {
    if (!PyBytes_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "bytes expected");
        return NULL;
    }
    const uint8_t *p = (const uint8_t *)PyBytes_AS_STRING(arg);
    Py_ssize_t len = PyBytes_GET_SIZE(arg);
    if (len < KEY_LEN + 1 || p[len - 1] != '\'')
        Py_RETURN_FALSE;
    const Entry *e = lookup(t, p);
    if (!e || !value_ok(t, e, p + KEY_LEN, len - KEY_LEN - 1))
        Py_RETURN_FALSE;
    Py_RETURN_TRUE;
}

/* --- KeySet: the NIRs of a declaration -------------------------------------------------- */

/* The same set as dsnlink.norme.intset.IntSet (open addressing, Fibonacci hashing, 0 is the
 * empty slot), in C so that the loop checks a NIR for duplicates without calling Python; the
 * Python hook uses it through add() when it handles a NIR line itself. */
typedef struct {
    PyObject_HEAD
    uint64_t *slots;
    int bits;
    Py_ssize_t count;
} KeySetObject;

static PyTypeObject KeySetType;

static PyObject *keyset_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    if ((kwds && PyDict_GET_SIZE(kwds)) || PyTuple_GET_SIZE(args)) {
        PyErr_SetString(PyExc_TypeError, "KeySet() takes no arguments");
        return NULL;
    }
    KeySetObject *s = (KeySetObject *)type->tp_alloc(type, 0);
    if (!s)
        return NULL;
    s->bits = 10;
    s->slots = PyMem_Calloc((size_t)1 << s->bits, sizeof(uint64_t));
    if (!s->slots) {
        Py_DECREF(s);
        return PyErr_NoMemory();
    }
    return (PyObject *)s;
}

static void keyset_dealloc(KeySetObject *s) {
    PyMem_Free(s->slots);
    Py_TYPE(s)->tp_free((PyObject *)s);
}

static size_t keyset_find(const KeySetObject *s, uint64_t key) {
    size_t mask = ((size_t)1 << s->bits) - 1;
    size_t i = (size_t)((key * 0x9E3779B97F4A7C15ULL) >> (64 - s->bits));
    while (s->slots[i] != 0 && s->slots[i] != key)
        i = (i + 1) & mask;
    return i;
}

static int keyset_has(const KeySetObject *s, uint64_t key) {
    return s->slots[keyset_find(s, key)] == key;
}

/* 1 when added, 0 when already there, -1 on error */
static int keyset_insert(KeySetObject *s, uint64_t key) {
    size_t i = keyset_find(s, key);
    if (s->slots[i] == key)
        return 0;
    s->slots[i] = key;
    s->count++;
    if ((size_t)s->count * 2 > ((size_t)1 << s->bits)) {
        uint64_t *old = s->slots;
        size_t size = (size_t)1 << s->bits;
        uint64_t *slots = PyMem_Calloc(size * 2, sizeof(uint64_t));
        if (!slots) {
            PyErr_NoMemory();
            return -1;
        }
        s->slots = slots;
        s->bits++;
        for (size_t j = 0; j < size; j++)
            if (old[j])
                s->slots[keyset_find(s, old[j])] = old[j];
        PyMem_Free(old);
    }
    return 1;
}

static PyObject *keyset_add(KeySetObject *s, PyObject *arg) {
    unsigned long long key = PyLong_AsUnsignedLongLong(arg);
    if (key == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    if (key == 0) {
        PyErr_SetString(PyExc_ValueError, "0 is not a key");
        return NULL;
    }
    int added = keyset_insert(s, key);
    if (added < 0)
        return NULL;
    return PyBool_FromLong(added);
}

static Py_ssize_t keyset_len(KeySetObject *s) { return s->count; }

static PyMethodDef keyset_methods[] = {
    {"add", (PyCFunction)keyset_add, METH_O, "add(key) -> False if it was already there"},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods keyset_as_sequence = {.sq_length = (lenfunc)keyset_len};

static PyTypeObject KeySetType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "dsnlink.norme._speedups.KeySet",
    .tp_basicsize = sizeof(KeySetObject),
    .tp_dealloc = (destructor)keyset_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A set of 64-bit keys (1 <= key < 2**64), as dsnlink.norme.intset.IntSet.",
    .tp_methods = keyset_methods,
    .tp_as_sequence = &keyset_as_sequence,
    .tp_new = keyset_new,
};

/* dsnlink.norme.intset.nir_key: 0 when the value is not NIR-shaped */
static uint64_t nir_key(const uint8_t *v, Py_ssize_t n) {
    if (n != 13)
        return 0;
    uint64_t flag = 0, number = 0;
    if (v[5] == '2' && (v[6] == 'A' || v[6] == 'B'))
        flag = v[6] == 'A' ? 1 : 2;
    for (int i = 0; i < 13; i++) {
        uint8_t c = v[i];
        if (flag && i == 6)
            c = '0';
        if (c < '0' || c > '9')
            return 0;
        number = number * 10 + (uint64_t)(c - '0');
    }
    return number + 1 + (flag << 50);
}

/* --- the loop ---------------------------------------------------------------------------- */

/* What the summary hooks do, done here: Hooks.start_employee, Hooks._nir (when the NIR is new
 * to the declaration) and the copies of employee fields (checks.FIELD_HOOKS). */
typedef struct {
    PyObject *emp;       /* the current EmployeeSummary (owned) */
    PyObject *employees; /* DeclarationSummary.employees, or None when not kept (borrowed) */
    PyObject *nirs;      /* Hooks.nirs: a KeySet, else NIR lines go back to Python (borrowed) */
    PyTypeObject *factory; /* EmployeeSummary (borrowed) */
    PyObject *fields;    /* its fields and defaults, in order: a new employee's __dict__ */
    long long started;
} Summary;

static PyObject *line_str; /* interned "line" */
static PyObject *nir_str;  /* interned "nir" */
static PyObject *no_args;  /* () */

static int start_employee(Summary *out, long long lineno) {
    PyObject *emp = out->factory->tp_new(out->factory, no_args, NULL);
    if (!emp)
        return -1;
    PyObject *attrs = PyDict_Copy(out->fields);
    PyObject *number = PyLong_FromLongLong(lineno);
    if (!attrs || !number || PyDict_SetItem(attrs, line_str, number) < 0 ||
        PyObject_GenericSetDict(emp, attrs, NULL) < 0 ||
        (out->employees != Py_None && PyList_Append(out->employees, emp) < 0)) {
        Py_XDECREF(attrs);
        Py_XDECREF(number);
        Py_DECREF(emp);
        return -1;
    }
    Py_DECREF(attrs);
    Py_DECREF(number);
    Py_SETREF(out->emp, emp);
    out->started++;
    return 0;
}

static int set_text(PyObject *emp, PyObject *name, const char *value, Py_ssize_t len) {
    PyObject *text = PyUnicode_DecodeLatin1(value, len, NULL);
    if (!text)
        return -1;
    int rc = PyObject_SetAttr(emp, name, text);
    Py_DECREF(text);
    return rc;
}

/* Structure.memo[(sid, block)] -> (next sid, instances closed); 0 when not remembered. */
static int memo_get(PyObject *memo, long long sid, PyObject *name, long long *next,
                    Py_ssize_t *pops) {
    PyObject *number = PyLong_FromLongLong(sid);
    if (!number)
        return -1;
    PyObject *key = PyTuple_Pack(2, number, name);
    Py_DECREF(number);
    if (!key)
        return -1;
    PyObject *hit = PyDict_GetItemWithError(memo, key);
    Py_DECREF(key);
    if (!hit)
        return PyErr_Occurred() ? -1 : 0;
    if (!PyTuple_Check(hit) || PyTuple_GET_SIZE(hit) != 2)
        return 0;
    *next = PyLong_AsLongLong(PyTuple_GET_ITEM(hit, 0));
    if (*next == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    *pops = PyLong_AsSsize_t(PyTuple_GET_ITEM(hit, 1));
    if (*pops < 0) {
        PyErr_Clear();
        return 0;
    }
    return 1;
}

/* scan(table, segment, pos, state, starts, memo, summary) -> offset of the line handed back
 * to Python, or -1 once the segment's last line is done.
 *
 * segment: lines joined by LF (the last one has no terminator); state: the list
 * [block index (-1 none, -2 a block this table does not know), last number, mandatory mask,
 * first line of the block instance, line number, structure state id], read and written back;
 * starts: Structure.starts; memo: Structure.memo; summary: the list [current employee,
 * the declaration's employee list or None, its NIR KeySet, EmployeeSummary, the fields of a
 * new employee (dict), employees started], whose first and last items are written back. */
static PyObject *scan(PyObject *module, PyObject *args) {
    TableObject *t;
    PyObject *segment, *state, *starts, *memo, *sink;
    Py_ssize_t pos;
    if (!PyArg_ParseTuple(args, "O!O!nO!O!O!O!", &TableType, &t, &PyBytes_Type, &segment, &pos,
                          &PyList_Type, &state, &PyList_Type, &starts, &PyDict_Type, &memo,
                          &PyList_Type, &sink))
        return NULL;
    if (PyList_GET_SIZE(state) != 6 || PyList_GET_SIZE(sink) != 6) {
        PyErr_SetString(PyExc_ValueError, "state and summary must have 6 items");
        return NULL;
    }
    Summary out = {
        PyList_GET_ITEM(sink, 0), PyList_GET_ITEM(sink, 1), PyList_GET_ITEM(sink, 2),
        (PyTypeObject *)PyList_GET_ITEM(sink, 3), PyList_GET_ITEM(sink, 4), 0,
    };
    if ((out.employees != Py_None && !PyList_Check(out.employees)) ||
        !PyType_Check((PyObject *)out.factory) || !PyDict_Check(out.fields) ||
        out.factory->tp_dictoffset == 0 || out.factory->tp_new == NULL) {
        PyErr_SetString(PyExc_TypeError, "summary: [object, list|None, set, type, dict, int]");
        return NULL;
    }
    long long values[6];
    for (int i = 0; i < 6; i++) {
        PyObject *item = PyList_GET_ITEM(state, i);
        if (i == 2) {
            values[i] = (long long)PyLong_AsUnsignedLongLong(item);
        } else {
            values[i] = PyLong_AsLongLong(item);
        }
        if (PyErr_Occurred())
            return NULL;
    }
    out.started = PyLong_AsLongLong(PyList_GET_ITEM(sink, 5));
    if (out.started == -1 && PyErr_Occurred())
        return NULL;
    long long blk = values[0], last = values[1], start = values[3], lineno = values[4];
    long long sid = values[5];
    uint64_t mask = (uint64_t)values[2];
    if (blk >= t->nblocks || blk < -2) {
        PyErr_SetString(PyExc_ValueError, "block index out of range");
        return NULL;
    }
    const char *buf = PyBytes_AS_STRING(segment);
    Py_ssize_t end = PyBytes_GET_SIZE(segment);
    if (pos < 0 || pos > end) {
        PyErr_SetString(PyExc_ValueError, "position out of range");
        return NULL;
    }
    KeySetObject *nirs = Py_IS_TYPE(out.nirs, &KeySetType) ? (KeySetObject *)out.nirs : NULL;
    /* ours for the whole loop, whatever the calls below do to the lists they come from */
    Py_INCREF(out.emp);
    Py_INCREF(out.employees);
    Py_INCREF(out.nirs);
    Py_INCREF(out.factory);
    Py_INCREF(out.fields);
    Py_INCREF(segment);
    Py_ssize_t result;
    int failed = 0;

    for (;;) {
        const char *p = buf + pos;
        const char *nl = memchr(p, '\n', (size_t)(end - pos));
        Py_ssize_t len = (nl ? nl : buf + end) - p;
        const uint8_t *u = (const uint8_t *)p;
        if (len > t->max_line || len < KEY_LEN + 1 || u[len - 1] != '\'')
            break;
        const Entry *e = lookup(t, u);
        const uint8_t *value = u + KEY_LEN;
        Py_ssize_t vlen = len - KEY_LEN - 1;
        if (!e || e->hook == HOOK_PYTHON || !value_ok(t, e, value, vlen))
            break;
        uint64_t key = 0;
        if (e->hook == HOOK_NIR) {
            key = nir_key(value, vlen);
            if (!nirs || (key && keyset_has(nirs, key)))
                break; /* a duplicate: Python's hook reports it */
        }
        long long ln = lineno + 1;
        const Block *b = &t->blocks[e->block];
        int change = e->block != blk || e->num <= last;
        long long next = sid;
        Py_ssize_t pops = 0;
        if (change) {
            /* a new block instance: what Validator.on_block does when it finds nothing */
            if (blk == -2 || (e->block == blk && e->num > b->first))
                break;
            if (blk >= 0 && (t->blocks[blk].mandatory & ~mask))
                break;
            if (!b->walk)
                break;
            int hit = memo_get(memo, sid, b->name, &next, &pops);
            if (hit < 0) {
                failed = 1;
                break;
            }
            if (!hit || pops > PyList_GET_SIZE(starts))
                break;
        }
        /* the line is plain: apply it */
        if (change) {
            Py_ssize_t depth = PyList_GET_SIZE(starts);
            if (pops && PyList_SetSlice(starts, depth - pops, depth, NULL) < 0) {
                failed = 1;
                break;
            }
            PyObject *number = PyLong_FromLongLong(ln);
            if (!number || PyList_Append(starts, number) < 0) {
                Py_XDECREF(number);
                failed = 1;
                break;
            }
            Py_DECREF(number);
            sid = next;
            blk = e->block;
            mask = 0;
            start = ln;
            if (b->employee && start_employee(&out, ln) < 0) {
                failed = 1;
                lineno = ln, last = e->num;
                break;
            }
        }
        lineno = ln;
        last = e->num;
        if (e->mbit >= 0)
            mask |= (uint64_t)1 << e->mbit;
        if (e->hook == HOOK_NIR) {
            if ((key && keyset_insert(nirs, key) < 0) ||
                set_text(out.emp, nir_str, (const char *)value, vlen) < 0) {
                failed = 1;
                break;
            }
        } else if (e->hook == HOOK_FIELD) {
            if (set_text(out.emp, e->field, (const char *)value, vlen) < 0) {
                failed = 1;
                break;
            }
        }
        if (!nl) {
            pos = -1;
            break;
        }
        pos = nl + 1 - buf;
    }
    result = pos;
    Py_DECREF(segment);
    Py_DECREF(out.fields);
    Py_DECREF(out.factory);
    Py_DECREF(out.nirs);
    Py_DECREF(out.employees);
    /* written back even on failure: Python sees what was done */
    long long back[6] = {blk, last, 0, start, lineno, sid};
    for (int i = 0; i < 6; i++) {
        PyObject *item = i == 2 ? PyLong_FromUnsignedLongLong(mask) : PyLong_FromLongLong(back[i]);
        if (!item) {
            Py_DECREF(out.emp);
            return NULL;
        }
        PyList_SetItem(state, i, item); /* steals; the list has 6 items */
    }
    PyObject *started = PyLong_FromLongLong(out.started);
    if (!started) {
        Py_DECREF(out.emp);
        return NULL;
    }
    PyList_SetItem(sink, 5, started);
    PyList_SetItem(sink, 0, out.emp); /* steals our reference */
    if (failed)
        return NULL;
    return PyLong_FromSsize_t(result);
}

static PyMethodDef table_methods[] = {
    {"check", (PyCFunction)table_check, METH_O,
     "check(line) -> whether the compiled loop takes the line's value as valid"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject TableType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "dsnlink.norme._speedups.Table",
    .tp_basicsize = sizeof(TableObject),
    .tp_dealloc = (destructor)table_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The rubriques and blocks of one norme version and nature, for scan().",
    .tp_methods = table_methods,
    .tp_new = table_new,
};

static PyMethodDef module_methods[] = {
    {"scan", scan, METH_VARARGS, "scan(table, segment, pos, state, starts, memo, summary)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_speedups", "The validator's hot loop in C.", -1, module_methods,
};

PyMODINIT_FUNC PyInit__speedups(void) {
    if (PyType_Ready(&TableType) < 0 || PyType_Ready(&KeySetType) < 0)
        return NULL;
    line_str = PyUnicode_InternFromString("line");
    nir_str = PyUnicode_InternFromString("nir");
    no_args = PyTuple_New(0);
    if (!line_str || !nir_str || !no_args)
        return NULL;
    PyObject *module = PyModule_Create(&module_def);
    if (!module)
        return NULL;
    Py_INCREF(&TableType);
    if (PyModule_AddObject(module, "Table", (PyObject *)&TableType) < 0) {
        Py_DECREF(&TableType);
        Py_DECREF(module);
        return NULL;
    }
    Py_INCREF(&KeySetType);
    if (PyModule_AddObject(module, "KeySet", (PyObject *)&KeySetType) < 0) {
        Py_DECREF(&KeySetType);
        Py_DECREF(module);
        return NULL;
    }
    if (PyModule_AddIntConstant(module, "HOOK_NONE", HOOK_NONE) < 0 ||
        PyModule_AddIntConstant(module, "HOOK_NIR", HOOK_NIR) < 0 ||
        PyModule_AddIntConstant(module, "HOOK_FIELD", HOOK_FIELD) < 0 ||
        PyModule_AddIntConstant(module, "HOOK_PYTHON", HOOK_PYTHON) < 0 ||
        PyModule_AddIntConstant(module, "F_LENGTH", F_LENGTH) < 0 ||
        PyModule_AddIntConstant(module, "F_PRINTABLE", F_PRINTABLE) < 0 ||
        PyModule_AddIntConstant(module, "F_CALENDAR", F_CALENDAR) < 0 ||
        PyModule_AddIntConstant(module, "F_PYTHON", F_PYTHON) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
