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

# the scoring strategies, as C constants (a module global would be a Python object
# compared in every iteration) and as Python names
cdef enum:
    C_LEAST_ALLOCATED = 0
    C_MOST_ALLOCATED = 1
    C_REQUESTED_TO_CAPACITY_RATIO = 2

LEAST_ALLOCATED = C_LEAST_ALLOCATED
MOST_ALLOCATED = C_MOST_ALLOCATED
REQUESTED_TO_CAPACITY_RATIO = C_REQUESTED_TO_CAPACITY_RATIO

cdef array.array _INT64 = _array.array("q")


cpdef array.array zeros(Py_ssize_t n):
    return array.clone(_INT64, n, True)


cpdef void mark_insufficient(long long want, long long[::1] alloc, long long[::1] used, long long bit,
                             long long[::1] mask, unsigned char[::1] unresolvable, int track):
    cdef Py_ssize_t i, n = alloc.shape[0]
    for i in range(n):
        if want > alloc[i] - used[i]:
            mask[i] |= bit
            if track and want > alloc[i]:
                unresolvable[i] = 1


cpdef void flag_keys(const unsigned char[::1] flags, long long key, long long[::1] keys):
    cdef Py_ssize_t i, n = flags.shape[0]
    for i in range(n):
        if flags[i] and keys[i] == 0:
            keys[i] = key


cpdef void fill_keys_except(long long[::1] keys, long long key, Py_ssize_t keep):
    cdef Py_ssize_t i, n = keys.shape[0]
    for i in range(n):
        if i != keep:
            keys[i] = key


cpdef void first_flagged(const long long[::1] rows, Py_ssize_t width, const unsigned char[::1] flagged,
                         long long[::1] keys):
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


cpdef Py_ssize_t merge_keys(long long[::1] codes, const long long[::1] keys, long long base):
    cdef Py_ssize_t i, count = 0, n = codes.shape[0]
    for i in range(n):
        if codes[i] == 0 and keys[i] != 0:
            codes[i] = base + keys[i]
            count += 1
    return count


cpdef tuple feasible_rows(const long long[::1] codes, Py_ssize_t start, Py_ssize_t limit):
    cdef Py_ssize_t n = codes.shape[0]
    cdef Py_ssize_t size = limit if limit < n else n
    cdef array.array found = array.clone(_INT64, size, False)
    cdef long long[::1] out = found
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


cpdef void and_lookup(const long long[::1] column, const unsigned char[::1] allowed, int absent,
                      unsigned char[::1] acc):
    cdef Py_ssize_t i, n = acc.shape[0]
    cdef long long v
    for i in range(n):
        if acc[i]:
            v = column[i]
            acc[i] = absent if v < 0 else allowed[v]


cpdef void or_into(const unsigned char[::1] src, unsigned char[::1] dst):
    cdef Py_ssize_t i, n = dst.shape[0]
    for i in range(n):
        if src[i]:
            dst[i] = 1


cpdef void and_into(const unsigned char[::1] src, unsigned char[::1] dst):
    cdef Py_ssize_t i, n = dst.shape[0]
    for i in range(n):
        if not src[i]:
            dst[i] = 0


cpdef void keys_where_unset(const unsigned char[::1] acc, long long key, long long[::1] keys):
    cdef Py_ssize_t i, n = acc.shape[0]
    for i in range(n):
        keys[i] = 0 if acc[i] else key


cpdef void add_where(const long long[::1] idx, const unsigned char[::1] acc, long long weight,
                     long long[::1] out):
    cdef Py_ssize_t j, n = idx.shape[0]
    for j in range(n):
        if acc[idx[j]]:
            out[j] += weight


cpdef void count_flagged(const long long[::1] idx, const long long[::1] rows, Py_ssize_t width,
                         const unsigned char[::1] flagged, long long[::1] out):
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


cdef inline long long _broken_linear(long long p, const long long[::1] shape_u,
                                     const long long[::1] shape_s):
    cdef Py_ssize_t i, n = shape_u.shape[0]
    for i in range(n):
        if p <= shape_u[i]:
            if i == 0:
                return shape_s[0]
            return shape_s[i - 1] + (shape_s[i] - shape_s[i - 1]) * (p - shape_u[i - 1]) / (
                shape_u[i] - shape_u[i - 1]
            )
    return shape_s[n - 1]


cpdef void resource_scores(const long long[::1] idx, int strategy, list wants, list allocs,
                           list useds, list weights, object shape_u, object shape_s,
                           long long[::1] out):
    cdef Py_ssize_t j, r, i, n = idx.shape[0], count = len(wants)
    cdef const long long[::1] alloc
    cdef const long long[::1] used
    cdef const long long[::1] su
    cdef const long long[::1] ss
    cdef long long want, weight, capacity, requested, score, top
    cdef long long* total = <long long*> malloc(max(n, 1) * sizeof(long long))
    cdef long long* weight_sum = <long long*> malloc(max(n, 1) * sizeof(long long))
    if strategy == C_REQUESTED_TO_CAPACITY_RATIO:
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
            if strategy == C_LEAST_ALLOCATED:
                for j in range(n):
                    i = idx[j]
                    capacity = alloc[i]
                    if capacity == 0:
                        continue
                    requested = used[i] + want
                    score = 0 if requested > capacity else (capacity - requested) * MAX_NODE_SCORE / capacity
                    total[j] += score * weight
                    weight_sum[j] += weight
            elif strategy == C_MOST_ALLOCATED:
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
            elif strategy == C_REQUESTED_TO_CAPACITY_RATIO:
                out[j] = (2 * total[j] + weight_sum[j]) / (2 * weight_sum[j])
            else:
                out[j] = total[j] / weight_sum[j]
    finally:
        free(total)
        free(weight_sum)


cpdef void balanced_scores(const long long[::1] idx, list wants, list allocs, list useds,
                           long long[::1] out):
    cdef Py_ssize_t j, r, i, n = idx.shape[0], count = len(wants)
    cdef const long long[::1] alloc
    cdef const long long[::1] used
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


cpdef void gather(const long long[::1] idx, const long long[::1] column, long long[::1] out):
    cdef Py_ssize_t j, n = idx.shape[0]
    for j in range(n):
        out[j] = column[idx[j]]


cpdef void normalize(const long long[::1] raw, int reverse, long long[::1] out):
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


cpdef Py_ssize_t first_out_of_range(const long long[::1] scores, long long low, long long high):
    cdef Py_ssize_t j, n = scores.shape[0]
    for j in range(n):
        if scores[j] < low or scores[j] > high:
            return j
    return -1


cpdef void weighted_add(const long long[::1] scores, long long weight, long long[::1] totals):
    cdef Py_ssize_t j, n = scores.shape[0]
    for j in range(n):
        totals[j] += scores[j] * weight


cpdef tuple best(const long long[::1] totals):
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


cpdef Py_ssize_t nth_with(const long long[::1] totals, long long value, Py_ssize_t k):
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


cpdef void combine_mask(const long long[::1] mask, const unsigned char[::1] unresolvable,
                        long long[::1] keys):
    cdef Py_ssize_t i, n = keys.shape[0]
    for i in range(n):
        keys[i] = mask[i] * 2 + unresolvable[i] if mask[i] else 0


# -- the fused cycle of the default plugins ------------------------------------------------

DEF MAX_FUSED = 16


# 2**52: below it the double quotient of two integers truncates to the integer quotient.
cdef long long EXACT = (<long long> 1) << 52


cdef inline long long _quot(long long a, long long b) noexcept nogil:
    """a / b truncated toward zero, for a >= 0, b > 0; through a double when both are
    small enough for the double's quotient to truncate to the same integer (much faster
    than a 64-bit integer division, and vectorisable)."""
    if a < EXACT and b < EXACT:
        return <long long> (<double> a / <double> b)
    return a / b


cdef inline long long* _ptr(long long[::1] column):
    return &column[0] if column.shape[0] > 0 else NULL


cdef inline const long long* _cptr(const long long[::1] column):
    return &column[0] if column.shape[0] > 0 else NULL


cpdef tuple fused_filter(Py_ssize_t start, Py_ssize_t limit, const unsigned char[::1] unschedulable,
                         int check_unschedulable, Py_ssize_t keep, const long long[::1] rows,
                         Py_ssize_t width, const unsigned char[::1] flagged,
                         const unsigned char[::1] affinity, const long long[::1] alloc_pods,
                         const long long[::1] pod_count, list wants, list allocs, list useds):
    cdef Py_ssize_t n = pod_count.shape[0]
    cdef Py_ssize_t count = len(wants)
    cdef Py_ssize_t size = limit if limit < n else n
    cdef array.array found = array.clone(_INT64, size, False)
    cdef long long[::1] out = found
    cdef Py_ssize_t j, i, k, r, got = 0, visited = 0
    cdef long long t
    cdef bint check_taints = width > 0 and flagged.shape[0] > 0
    cdef bint check_affinity = affinity.shape[0] > 0
    cdef bint rejected
    cdef long long want_v[MAX_FUSED]
    cdef const long long* alloc_p[MAX_FUSED]
    cdef const long long* used_p[MAX_FUSED]
    cdef const long long[::1] column
    if count > MAX_FUSED:
        raise ValueError(f"at most {MAX_FUSED} resources")
    for r in range(count):
        want_v[r] = wants[r]
        column = allocs[r]
        alloc_p[r] = _cptr(column)
        column = useds[r]
        used_p[r] = _cptr(column)
    for j in range(n):
        i = start + j
        if i >= n:
            i -= n
        visited += 1
        if check_unschedulable and unschedulable[i]:
            continue
        if keep != -2 and i != keep:
            continue
        if check_taints:
            rejected = False
            for k in range(width):
                t = rows[i * width + k]
                if t < 0:
                    break
                if flagged[t]:
                    rejected = True
                    break
            if rejected:
                continue
        if check_affinity and not affinity[i]:
            continue
        if alloc_pods[i] - pod_count[i] < 1:
            continue
        rejected = False
        for r in range(count):
            if want_v[r] > alloc_p[r][i] - used_p[r][i]:
                rejected = True
                break
        if rejected:
            continue
        out[got] = i
        got += 1
        if got >= limit:
            break
    array.resize(found, got)
    return found, visited


cpdef void fused_score(const long long[::1] idx, int strategy, list wants, list allocs, list useds,
                       list weights, object shape_u, object shape_s, long long fit_weight,
                       list bal_wants, list bal_allocs, list bal_useds, long long bal_weight,
                       const long long[::1] rows, Py_ssize_t width, const unsigned char[::1] prefer,
                       long long taint_weight, list terms, list term_weights,
                       long long affinity_weight, long long[::1] totals):
    cdef Py_ssize_t n = idx.shape[0]
    cdef Py_ssize_t j, i, r, k, m
    cdef Py_ssize_t fit_count = len(wants), bal_count = len(bal_wants), term_count = len(terms)
    cdef long long fit_want[MAX_FUSED]
    cdef long long fit_w[MAX_FUSED]
    cdef const long long* fit_alloc[MAX_FUSED]
    cdef const long long* fit_used[MAX_FUSED]
    cdef long long bal_want[MAX_FUSED]
    cdef const long long* bal_alloc[MAX_FUSED]
    cdef const long long* bal_used[MAX_FUSED]
    cdef const unsigned char* term_p[MAX_FUSED]
    cdef long long term_w[MAX_FUSED]
    cdef double fractions[MAX_FUSED]
    cdef const long long[::1] column
    cdef const unsigned char[::1] flags
    cdef const long long[::1] su
    cdef const long long[::1] ss
    cdef long long capacity, requested, score, total, weight_sum, top_rtcr = 0
    cdef long long taint_count, taint_max = 0, aff, aff_max = 0, scaled
    cdef double fraction, frac_total, mean, acc, std
    cdef long long t
    cdef long long* taint_raw = NULL
    cdef long long* aff_raw = NULL
    if fit_count > MAX_FUSED or bal_count > MAX_FUSED or term_count > MAX_FUSED:
        raise ValueError(f"at most {MAX_FUSED} resources or terms")
    for r in range(fit_count):
        fit_want[r] = wants[r]
        fit_w[r] = weights[r]
        column = allocs[r]
        fit_alloc[r] = _cptr(column)
        column = useds[r]
        fit_used[r] = _cptr(column)
    for r in range(bal_count):
        bal_want[r] = bal_wants[r]
        column = bal_allocs[r]
        bal_alloc[r] = _cptr(column)
        column = bal_useds[r]
        bal_used[r] = _cptr(column)
    for r in range(term_count):
        flags = terms[r]
        term_p[r] = &flags[0] if flags.shape[0] > 0 else NULL
        term_w[r] = term_weights[r]
    if strategy == C_REQUESTED_TO_CAPACITY_RATIO:
        su = _array.array("q", shape_u)
        ss = _array.array("q", shape_s)
        top_rtcr = _broken_linear(MAX_UTILIZATION, su, ss)
    taint_raw = <long long*> malloc(max(n, 1) * sizeof(long long))
    aff_raw = <long long*> malloc(max(n, 1) * sizeof(long long))
    try:
        for j in range(n):
            i = idx[j]
            if fit_weight:
                total = 0
                weight_sum = 0
                for r in range(fit_count):
                    capacity = fit_alloc[r][i]
                    if capacity == 0:
                        continue
                    requested = fit_used[r][i] + fit_want[r]
                    if strategy == C_LEAST_ALLOCATED:
                        score = 0 if requested > capacity else _quot((capacity - requested) * MAX_NODE_SCORE, capacity)
                    elif strategy == C_MOST_ALLOCATED:
                        if requested > capacity:
                            requested = capacity
                        score = _quot(requested * MAX_NODE_SCORE, capacity)
                    else:
                        if requested > capacity:
                            score = top_rtcr
                        else:
                            score = _broken_linear(requested * MAX_UTILIZATION / capacity, su, ss)
                        if score <= 0:
                            continue
                    total += score * fit_w[r]
                    weight_sum += fit_w[r]
                if weight_sum == 0:
                    score = 0
                elif strategy == C_REQUESTED_TO_CAPACITY_RATIO:
                    score = (2 * total + weight_sum) / (2 * weight_sum)
                else:
                    score = _quot(total, weight_sum)
                totals[j] += score * fit_weight
            if bal_weight:
                m = 0
                frac_total = 0.0
                for r in range(bal_count):
                    capacity = bal_alloc[r][i]
                    if capacity == 0:
                        continue
                    fraction = <double> (bal_used[r][i] + bal_want[r]) / <double> capacity
                    if fraction > 1:
                        fraction = 1.0
                    frac_total += fraction
                    fractions[m] = fraction
                    m += 1
                std = 0.0
                if m == 2:
                    std = fabs((fractions[0] - fractions[1]) / 2)
                elif m > 2:
                    mean = frac_total / m
                    acc = 0.0
                    for r in range(m):
                        acc = acc + (fractions[r] - mean) * (fractions[r] - mean)
                    std = sqrt(acc / m)
                totals[j] += (<long long> ((1 - std) * MAX_NODE_SCORE)) * bal_weight
            if taint_weight:
                taint_count = 0
                for k in range(width):
                    t = rows[i * width + k]
                    if t < 0:
                        break
                    if prefer[t]:
                        taint_count += 1
                taint_raw[j] = taint_count
                if taint_count > taint_max:
                    taint_max = taint_count
            if affinity_weight:
                aff = 0
                for r in range(term_count):
                    if term_p[r][i]:
                        aff += term_w[r]
                aff_raw[j] = aff
                if aff > aff_max:
                    aff_max = aff
        if taint_weight or affinity_weight:
            for j in range(n):
                if taint_weight:
                    if taint_max == 0:
                        totals[j] += MAX_NODE_SCORE * taint_weight
                    else:
                        scaled = _quot(MAX_NODE_SCORE * taint_raw[j], taint_max)
                        totals[j] += (MAX_NODE_SCORE - scaled) * taint_weight
                if affinity_weight and aff_max > 0:
                    totals[j] += _quot(MAX_NODE_SCORE * aff_raw[j], aff_max) * affinity_weight
    finally:
        free(taint_raw)
        free(aff_raw)
