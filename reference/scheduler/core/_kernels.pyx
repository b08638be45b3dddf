# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The scheduler's per-node arithmetic over node tables, compiled (twin of ``_kernels_pure.py``).

Same contract as the pure twin, function by function. Loops run resource by
resource over contiguous int64 columns so that the C compiler can vectorise
them; integer division is C's, which truncates toward zero as Go's does.
"""

from cpython cimport array
import array as _array
from libc.math cimport sqrt, fabs
from libc.stdlib cimport malloc, free

DEF MAX_NODE_SCORE = 100
DEF MAX_UTILIZATION = 100

LEAST_ALLOCATED = 0
MOST_ALLOCATED = 1
REQUESTED_TO_CAPACITY_RATIO = 2

cdef array.array _INT64 = _array.array("q")


cpdef array.array zeros(Py_ssize_t n):
    return array.clone(_INT64, n, True)


cpdef void mark_insufficient(long long want, long long[:] alloc, long long[:] used, long long bit,
                             long long[:] mask, unsigned char[:] unresolvable, int track):
    cdef Py_ssize_t i, n = alloc.shape[0]
    for i in range(n):
        if want > alloc[i] - used[i]:
            mask[i] |= bit
            if track and want > alloc[i]:
                unresolvable[i] = 1


cpdef void flag_keys(const unsigned char[:] flags, long long key, long long[:] keys):
    cdef Py_ssize_t i, n = flags.shape[0]
    for i in range(n):
        if flags[i] and keys[i] == 0:
            keys[i] = key


cpdef void fill_keys_except(long long[:] keys, long long key, Py_ssize_t keep):
    cdef Py_ssize_t i, n = keys.shape[0]
    for i in range(n):
        if i != keep:
            keys[i] = key


cpdef void first_flagged(const long long[:] rows, Py_ssize_t width, const unsigned char[:] flagged,
                         long long[:] keys):
    cdef Py_ssize_t i, j, n = keys.shape[0]
    cdef long long t
    for i in range(n):
        keys[i] = 0
        for j in range(width):
            t = rows[i * width + j]
            if t < 0:
                break
            if flagged[t]:
                keys[i] = t + 1
                break


cpdef Py_ssize_t merge_keys(long long[:] codes, const long long[:] keys, long long base):
    cdef Py_ssize_t i, count = 0, n = codes.shape[0]
    for i in range(n):
        if codes[i] == 0 and keys[i] != 0:
            codes[i] = base + keys[i]
            count += 1
    return count


cpdef tuple feasible_rows(const long long[:] codes, Py_ssize_t start, Py_ssize_t limit):
    cdef Py_ssize_t n = codes.shape[0]
    cdef Py_ssize_t size = limit if limit < n else n
    cdef array.array found = array.clone(_INT64, size, False)
    cdef long long[:] out = found
    cdef Py_ssize_t j, i, count = 0, visited = 0
    for j in range(n):
        i = start + j
        if i >= n:
            i -= n
        visited += 1
        if codes[i] == 0:
            out[count] = i
            count += 1
            if count >= limit:
                break
    array.resize(found, count)
    return found, visited


cpdef void and_lookup(const long long[:] column, const unsigned char[:] allowed, int absent,
                      unsigned char[:] acc):
    cdef Py_ssize_t i, n = acc.shape[0]
    cdef long long v
    for i in range(n):
        if acc[i]:
            v = column[i]
            acc[i] = absent if v < 0 else allowed[v]


cpdef void or_into(const unsigned char[:] src, unsigned char[:] dst):
    cdef Py_ssize_t i, n = dst.shape[0]
    for i in range(n):
        if src[i]:
            dst[i] = 1


cpdef void and_into(const unsigned char[:] src, unsigned char[:] dst):
    cdef Py_ssize_t i, n = dst.shape[0]
    for i in range(n):
        if not src[i]:
            dst[i] = 0


cpdef void keys_where_unset(const unsigned char[:] acc, long long key, long long[:] keys):
    cdef Py_ssize_t i, n = acc.shape[0]
    for i in range(n):
        keys[i] = 0 if acc[i] else key


cpdef void add_where(const long long[:] idx, const unsigned char[:] acc, long long weight,
                     long long[:] out):
    cdef Py_ssize_t j, n = idx.shape[0]
    for j in range(n):
        if acc[idx[j]]:
            out[j] += weight


cpdef void count_flagged(const long long[:] idx, const long long[:] rows, Py_ssize_t width,
                         const unsigned char[:] flagged, long long[:] out):
    cdef Py_ssize_t j, k, base, n = idx.shape[0]
    cdef long long t, count
    for j in range(n):
        base = idx[j] * width
        count = 0
        for k in range(width):
            t = rows[base + k]
            if t < 0:
                break
            if flagged[t]:
                count += 1
        out[j] = count


cdef inline long long _broken_linear(long long p, const long long[:] shape_u,
                                     const long long[:] shape_s):
    cdef Py_ssize_t i, n = shape_u.shape[0]
    for i in range(n):
        if p <= shape_u[i]:
            if i == 0:
                return shape_s[0]
            return shape_s[i - 1] + (shape_s[i] - shape_s[i - 1]) * (p - shape_u[i - 1]) / (
                shape_u[i] - shape_u[i - 1]
            )
    return shape_s[n - 1]


cpdef void resource_scores(const long long[:] idx, int strategy, list wants, list allocs,
                           list useds, list weights, object shape_u, object shape_s,
                           long long[:] out):
    cdef Py_ssize_t j, r, i, n = idx.shape[0], count = len(wants)
    cdef const long long[:] alloc
    cdef const long long[:] used
    cdef const long long[:] su
    cdef const long long[:] ss
    cdef long long want, weight, capacity, requested, score, top
    cdef long long* total = <long long*> malloc(max(n, 1) * sizeof(long long))
    cdef long long* weight_sum = <long long*> malloc(max(n, 1) * sizeof(long long))
    if strategy == REQUESTED_TO_CAPACITY_RATIO:
        su = _array.array("q", shape_u)
        ss = _array.array("q", shape_s)
    try:
        for j in range(n):
            total[j] = 0
            weight_sum[j] = 0
        for r in range(count):
            alloc = allocs[r]
            used = useds[r]
            want = wants[r]
            weight = weights[r]
            if strategy == LEAST_ALLOCATED:
                for j in range(n):
                    i = idx[j]
                    capacity = alloc[i]
                    if capacity == 0:
                        continue
                    requested = used[i] + want
                    score = 0 if requested > capacity else (capacity - requested) * MAX_NODE_SCORE / capacity
                    total[j] += score * weight
                    weight_sum[j] += weight
            elif strategy == MOST_ALLOCATED:
                for j in range(n):
                    i = idx[j]
                    capacity = alloc[i]
                    if capacity == 0:
                        continue
                    requested = used[i] + want
                    if requested > capacity:
                        requested = capacity
                    total[j] += requested * MAX_NODE_SCORE / capacity * weight
                    weight_sum[j] += weight
            else:
                top = _broken_linear(MAX_UTILIZATION, su, ss)
                for j in range(n):
                    i = idx[j]
                    capacity = alloc[i]
                    if capacity == 0:
                        continue
                    requested = used[i] + want
                    if requested > capacity:
                        score = top
                    else:
                        score = _broken_linear(requested * MAX_UTILIZATION / capacity, su, ss)
                    if score <= 0:
                        continue
                    total[j] += score * weight
                    weight_sum[j] += weight
        for j in range(n):
            if weight_sum[j] == 0:
                out[j] = 0
            elif strategy == REQUESTED_TO_CAPACITY_RATIO:
                out[j] = (2 * total[j] + weight_sum[j]) / (2 * weight_sum[j])
            else:
                out[j] = total[j] / weight_sum[j]
    finally:
        free(total)
        free(weight_sum)


cpdef void balanced_scores(const long long[:] idx, list wants, list allocs, list useds,
                           long long[:] out):
    cdef Py_ssize_t j, r, i, n = idx.shape[0], count = len(wants)
    cdef const long long[:] alloc
    cdef const long long[:] used
    cdef long long want, capacity
    cdef double fraction, mean, acc, std
    cdef double* fractions = <double*> malloc(max(n * count, 1) * sizeof(double))
    cdef double* total = <double*> malloc(max(n, 1) * sizeof(double))
    cdef long long* m = <long long*> malloc(max(n, 1) * sizeof(long long))
    try:
        for j in range(n):
            total[j] = 0.0
            m[j] = 0
        for r in range(count):
            alloc = allocs[r]
            used = useds[r]
            want = wants[r]
            for j in range(n):
                i = idx[j]
                capacity = alloc[i]
                if capacity == 0:
                    continue
                fraction = <double> (used[i] + want) / <double> capacity
                if fraction > 1:
                    fraction = 1.0
                total[j] += fraction
                fractions[j * count + m[j]] = fraction
                m[j] += 1
        for j in range(n):
            std = 0.0
            if m[j] == 2:
                std = fabs((fractions[j * count] - fractions[j * count + 1]) / 2)
            elif m[j] > 2:
                mean = total[j] / m[j]
                acc = 0.0
                for r in range(m[j]):
                    acc = acc + (fractions[j * count + r] - mean) * (fractions[j * count + r] - mean)
                std = sqrt(acc / m[j])
            out[j] = <long long> ((1 - std) * MAX_NODE_SCORE)
    finally:
        free(fractions)
        free(total)
        free(m)


cpdef void gather(const long long[:] idx, const long long[:] column, long long[:] out):
    cdef Py_ssize_t j, n = idx.shape[0]
    for j in range(n):
        out[j] = column[idx[j]]


cpdef void normalize(const long long[:] raw, int reverse, long long[:] out):
    cdef Py_ssize_t j, n = raw.shape[0]
    cdef long long highest = 0, scaled
    for j in range(n):
        if raw[j] > highest:
            highest = raw[j]
    if highest == 0:
        for j in range(n):
            out[j] = MAX_NODE_SCORE if reverse else raw[j]
        return
    for j in range(n):
        scaled = MAX_NODE_SCORE * raw[j] / highest
        out[j] = MAX_NODE_SCORE - scaled if reverse else scaled


cpdef Py_ssize_t first_out_of_range(const long long[:] scores, long long low, long long high):
    cdef Py_ssize_t j, n = scores.shape[0]
    for j in range(n):
        if scores[j] < low or scores[j] > high:
            return j
    return -1


cpdef void weighted_add(const long long[:] scores, long long weight, long long[:] totals):
    cdef Py_ssize_t j, n = scores.shape[0]
    for j in range(n):
        totals[j] += scores[j] * weight


cpdef tuple best(const long long[:] totals):
    cdef Py_ssize_t j, n = totals.shape[0]
    cdef long long top = totals[0]
    cdef Py_ssize_t count = 0
    for j in range(n):
        if totals[j] > top:
            top = totals[j]
            count = 1
        elif totals[j] == top:
            count += 1
    return top, count


cpdef Py_ssize_t nth_with(const long long[:] totals, long long value, Py_ssize_t k):
    cdef Py_ssize_t j, seen = 0, n = totals.shape[0]
    for j in range(n):
        if totals[j] == value:
            if seen == k:
                return j
            seen += 1
    return -1


cpdef list changed_rows(list old, object new):
    cdef Py_ssize_t i, n = len(new)
    cdef list changed = []
    cdef tuple as_tuple
    if type(new) is tuple:
        as_tuple = <tuple> new
        for i in range(n):
            if as_tuple[i] is not old[i]:
                changed.append(i)
    else:
        for i in range(n):
            if new[i] is not old[i]:
                changed.append(i)
    return changed


cpdef void combine_mask(const long long[:] mask, const unsigned char[:] unresolvable,
                        long long[:] keys):
    cdef Py_ssize_t i, n = keys.shape[0]
    for i in range(n):
        keys[i] = mask[i] * 2 + unresolvable[i] if mask[i] else 0
