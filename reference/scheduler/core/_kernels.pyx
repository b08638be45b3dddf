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


cpdef void lookup_keys(const long long[::1] column, const unsigned char[::1] flags,
                       long long missing_key, long long flagged_key, long long[::1] keys):
    cdef Py_ssize_t i, n = keys.shape[0]
    cdef long long v
    for i in range(n):
        if keys[i] == 0:
            v = column[i]
            if v < 0:
                keys[i] = missing_key
            elif flags[v]:
                keys[i] = flagged_key


# -- the fused cycle of the default plugins ------------------------------------------------

DEF MAX_FUSED = 16

# 2**52: below it the double quotient of two integers truncates to the integer quotient.
cdef long long EXACT = (<long long> 1) << 52


cdef inline long long _quot(long long a, long long b) noexcept nogil:
    """a / b truncated toward zero, for a >= 0, b > 0; through a double when both are
    small enough for the double's quotient to truncate to the same integer."""
    if a < EXACT and b < EXACT:
        return <long long> (<double> a / <double> b)
    return a / b


cdef inline const long long* _cptr(const long long[::1] column) noexcept:
    return &column[0] if column.shape[0] > 0 else NULL


cdef inline const unsigned char* _bptr(const unsigned char[::1] flags) noexcept:
    return &flags[0] if flags.shape[0] > 0 else NULL


cdef struct FilterPlan:
    const unsigned char* unschedulable
    int check_unschedulable
    Py_ssize_t keep
    const long long* taint_rows
    Py_ssize_t width
    const unsigned char* flagged
    bint check_taints
    const unsigned char* affinity
    bint check_affinity
    const long long* alloc_pods
    const long long* pod_count
    Py_ssize_t count
    long long want[MAX_FUSED]
    const long long* alloc[MAX_FUSED]
    const long long* used[MAX_FUSED]


cdef struct ScorePlan:
    int strategy
    long long fit_weight
    Py_ssize_t fit_count
    long long fit_want[MAX_FUSED]
    long long fit_w[MAX_FUSED]
    const long long* fit_alloc[MAX_FUSED]
    const long long* fit_used[MAX_FUSED]
    long long shape_u[MAX_FUSED]
    long long shape_s[MAX_FUSED]
    Py_ssize_t shape_count
    long long top_rtcr
    long long bal_weight
    Py_ssize_t bal_count
    long long bal_want[MAX_FUSED]
    const long long* bal_alloc[MAX_FUSED]
    const long long* bal_used[MAX_FUSED]
    const long long* taint_rows
    Py_ssize_t width
    const unsigned char* prefer
    long long taint_weight
    Py_ssize_t term_count
    const unsigned char* term[MAX_FUSED]
    long long term_w[MAX_FUSED]
    long long affinity_weight


cdef int _filter_plan(FilterPlan* p, const unsigned char[::1] unschedulable,
                      int check_unschedulable, Py_ssize_t keep, const long long[::1] rows,
                      Py_ssize_t width, const unsigned char[::1] flagged,
                      const unsigned char[::1] affinity, const long long[::1] alloc_pods,
                      const long long[::1] pod_count, list wants, list allocs,
                      list useds) except -1:
    cdef Py_ssize_t r
    if len(wants) > MAX_FUSED:
        raise ValueError(f"at most {MAX_FUSED} resources")
    p.unschedulable = _bptr(unschedulable)
    p.check_unschedulable = check_unschedulable
    p.keep = keep
    p.taint_rows = _cptr(rows)
    p.width = width
    p.flagged = _bptr(flagged)
    p.check_taints = width > 0 and flagged.shape[0] > 0
    p.affinity = _bptr(affinity)
    p.check_affinity = affinity.shape[0] > 0
    p.alloc_pods = _cptr(alloc_pods)
    p.pod_count = _cptr(pod_count)
    p.count = len(wants)
    for r in range(p.count):
        p.want[r] = wants[r]
        p.alloc[r] = _cptr(allocs[r])
        p.used[r] = _cptr(useds[r])
    return 0


cdef int _filter_plan_of(FilterPlan* p, tuple a) except -1:
    return _filter_plan(p, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10],
                        a[11])


cdef inline bint _feasible(const FilterPlan* p, Py_ssize_t i) noexcept nogil:
    cdef Py_ssize_t k, r
    cdef long long t
    if p.check_unschedulable and p.unschedulable[i]:
        return False
    if p.keep != -2 and i != p.keep:
        return False
    if p.check_taints:
        for k in range(p.width):
            t = p.taint_rows[i * p.width + k]
            if t < 0:
                break
            if p.flagged[t]:
                return False
    if p.check_affinity and not p.affinity[i]:
        return False
    if p.alloc_pods[i] - p.pod_count[i] < 1:
        return False
    for r in range(p.count):
        if p.want[r] > p.alloc[r][i] - p.used[r][i]:
            return False
    return True


cdef int _score_plan(ScorePlan* p, int strategy, list wants, list allocs, list useds,
                     list weights, object shape_u, object shape_s, long long fit_weight,
                     list bal_wants, list bal_allocs, list bal_useds, long long bal_weight,
                     const long long[::1] rows, Py_ssize_t width,
                     const unsigned char[::1] prefer, long long taint_weight, list terms,
                     list term_weights, long long affinity_weight) except -1:
    cdef Py_ssize_t r
    if (len(wants) > MAX_FUSED or len(bal_wants) > MAX_FUSED or len(terms) > MAX_FUSED
            or len(shape_u) > MAX_FUSED):
        raise ValueError(f"at most {MAX_FUSED} resources, terms or shape points")
    p.strategy = strategy
    p.fit_weight = fit_weight
    p.fit_count = len(wants)
    for r in range(p.fit_count):
        p.fit_want[r] = wants[r]
        p.fit_w[r] = weights[r]
        p.fit_alloc[r] = _cptr(allocs[r])
        p.fit_used[r] = _cptr(useds[r])
    p.shape_count = len(shape_u)
    for r in range(p.shape_count):
        p.shape_u[r] = shape_u[r]
        p.shape_s[r] = shape_s[r]
    p.top_rtcr = _linear(p, MAX_UTILIZATION) if p.shape_count else 0
    p.bal_weight = bal_weight
    p.bal_count = len(bal_wants)
    for r in range(p.bal_count):
        p.bal_want[r] = bal_wants[r]
        p.bal_alloc[r] = _cptr(bal_allocs[r])
        p.bal_used[r] = _cptr(bal_useds[r])
    p.taint_rows = _cptr(rows)
    p.width = width
    p.prefer = _bptr(prefer)
    p.taint_weight = taint_weight
    p.term_count = len(terms)
    for r in range(p.term_count):
        p.term[r] = _bptr(terms[r])
        p.term_w[r] = term_weights[r]
    p.affinity_weight = affinity_weight
    return 0


cdef int _score_plan_of(ScorePlan* p, tuple a) except -1:
    return _score_plan(p, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10],
                       a[11], a[12], a[13], a[14], a[15], a[16], a[17], a[18])


cdef inline long long _linear(const ScorePlan* p, long long u) noexcept nogil:
    """helper.BuildBrokenLinearFunction over the plan's shape (as _broken_linear)."""
    cdef Py_ssize_t i
    for i in range(p.shape_count):
        if u <= p.shape_u[i]:
            if i == 0:
                return p.shape_s[0]
            return p.shape_s[i - 1] + (p.shape_s[i] - p.shape_s[i - 1]) * (u - p.shape_u[i - 1]) / (
                p.shape_u[i] - p.shape_u[i - 1]
            )
    return p.shape_s[p.shape_count - 1]


cdef inline long long _partial(const ScorePlan* p, Py_ssize_t i) noexcept nogil:
    """The weighted NodeResourcesFit and BalancedAllocation scores of row i (the parts of
    the total that need no normalisation)."""
    cdef Py_ssize_t r, m
    cdef long long capacity, requested, score, total = 0, weight_sum = 0, out = 0
    cdef double fraction, frac_total, mean, acc, std
    cdef double fractions[MAX_FUSED]
    if p.fit_weight:
        for r in range(p.fit_count):
            capacity = p.fit_alloc[r][i]
            if capacity == 0:
                continue
            requested = p.fit_used[r][i] + p.fit_want[r]
            if p.strategy == C_LEAST_ALLOCATED:
                score = 0 if requested > capacity else _quot((capacity - requested) * MAX_NODE_SCORE, capacity)
            elif p.strategy == C_MOST_ALLOCATED:
                if requested > capacity:
                    requested = capacity
                score = _quot(requested * MAX_NODE_SCORE, capacity)
            else:
                if requested > capacity:
                    score = p.top_rtcr
                else:
                    score = _linear(p, requested * MAX_UTILIZATION / capacity)
                if score <= 0:
                    continue
            total += score * p.fit_w[r]
            weight_sum += p.fit_w[r]
        if weight_sum == 0:
            score = 0
        elif p.strategy == C_REQUESTED_TO_CAPACITY_RATIO:
            score = (2 * total + weight_sum) / (2 * weight_sum)
        else:
            score = _quot(total, weight_sum)
        out += score * p.fit_weight
    if p.bal_weight:
        m = 0
        frac_total = 0.0
        for r in range(p.bal_count):
            capacity = p.bal_alloc[r][i]
            if capacity == 0:
                continue
            fraction = <double> (p.bal_used[r][i] + p.bal_want[r]) / <double> capacity
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
        out += (<long long> ((1 - std) * MAX_NODE_SCORE)) * p.bal_weight
    return out


cdef inline long long _taints(const ScorePlan* p, Py_ssize_t i) noexcept nogil:
    cdef Py_ssize_t k
    cdef long long t, count = 0
    for k in range(p.width):
        t = p.taint_rows[i * p.width + k]
        if t < 0:
            break
        if p.prefer[t]:
            count += 1
    return count


cdef inline long long _affinity(const ScorePlan* p, Py_ssize_t i) noexcept nogil:
    cdef Py_ssize_t r
    cdef long long total = 0
    for r in range(p.term_count):
        if p.term[r][i]:
            total += p.term_w[r]
    return total


cdef inline long long _normalized(const ScorePlan* p, long long taints, long long taint_max,
                                  long long affinity, long long aff_max) noexcept nogil:
    """The weighted, normalised TaintToleration (reversed) and NodeAffinity scores."""
    cdef long long out = 0
    if p.taint_weight:
        if taint_max == 0:
            out += MAX_NODE_SCORE * p.taint_weight
        else:
            out += (MAX_NODE_SCORE - _quot(MAX_NODE_SCORE * taints, taint_max)) * p.taint_weight
    if p.affinity_weight and aff_max > 0:
        out += _quot(MAX_NODE_SCORE * affinity, aff_max) * p.affinity_weight
    return out


cpdef tuple fused_filter(Py_ssize_t start, Py_ssize_t limit, const unsigned char[::1] unschedulable,
                         int check_unschedulable, Py_ssize_t keep, const long long[::1] rows,
                         Py_ssize_t width, const unsigned char[::1] flagged,
                         const unsigned char[::1] affinity, const long long[::1] alloc_pods,
                         const long long[::1] pod_count, list wants, list allocs, list useds):
    cdef FilterPlan plan
    _filter_plan(&plan, unschedulable, check_unschedulable, keep, rows, width, flagged,
                 affinity, alloc_pods, pod_count, wants, allocs, useds)
    cdef Py_ssize_t n = pod_count.shape[0]
    cdef Py_ssize_t size = limit if limit < n else n
    cdef array.array found = array.clone(_INT64, size, False)
    cdef long long[::1] out = found
    cdef Py_ssize_t j, i, got = 0, visited = 0
    for j in range(n):
        i = start + j
        if i >= n:
            i -= n
        visited += 1
        if _feasible(&plan, i):
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
    cdef ScorePlan plan
    _score_plan(&plan, strategy, wants, allocs, useds, weights, shape_u, shape_s, fit_weight,
                bal_wants, bal_allocs, bal_useds, bal_weight, rows, width, prefer, taint_weight,
                terms, term_weights, affinity_weight)
    cdef Py_ssize_t n = idx.shape[0]
    cdef Py_ssize_t j, i
    cdef long long taint_max = 0, aff_max = 0
    cdef long long* taint_raw = <long long*> malloc(max(n, 1) * sizeof(long long))
    cdef long long* aff_raw = <long long*> malloc(max(n, 1) * sizeof(long long))
    try:
        for j in range(n):
            i = idx[j]
            totals[j] += _partial(&plan, i)
            taint_raw[j] = _taints(&plan, i) if plan.taint_weight else 0
            aff_raw[j] = _affinity(&plan, i) if plan.affinity_weight else 0
            if taint_raw[j] > taint_max:
                taint_max = taint_raw[j]
            if aff_raw[j] > aff_max:
                aff_max = aff_raw[j]
        if plan.taint_weight or plan.affinity_weight:
            for j in range(n):
                totals[j] += _normalized(&plan, taint_raw[j], taint_max, aff_raw[j], aff_max)
    finally:
        free(taint_raw)
        free(aff_raw)


# -- the incremental fused cycle: per-row results kept between pods of one template ----------


cdef class FusedPlan:
    """``eval(changed, feasible, partial, taint_raw, aff_raw)`` re-evaluates the rows
    ``changed``: feasible[i], and for a feasible row its partial (fit and balanced) score and
    its raw taint count and affinity weight sum. The plans are worked out once (the columns
    they point into must stay the same arrays: the caller keeps the table's generation and
    taint rows)."""

    cdef FilterPlan fplan
    cdef ScorePlan splan
    cdef tuple args  # the arguments, kept alive as long as the plans point into them

    def __init__(self, tuple filter_args, tuple score_args):
        self.args = (filter_args, score_args)
        _filter_plan_of(&self.fplan, filter_args)
        _score_plan_of(&self.splan, score_args)

    cpdef void eval(self, list changed, unsigned char[::1] feasible, long long[::1] partial,
                    long long[::1] taint_raw, long long[::1] aff_raw):
        cdef Py_ssize_t j, i, n = len(changed)
        for j in range(n):
            i = changed[j]
            if _feasible(&self.fplan, i):
                feasible[i] = 1
                partial[i] = _partial(&self.splan, i)
                taint_raw[i] = _taints(&self.splan, i) if self.splan.taint_weight else 0
                aff_raw[i] = _affinity(&self.splan, i) if self.splan.affinity_weight else 0
            else:
                feasible[i] = 0


cpdef tuple fused_pick(Py_ssize_t start, Py_ssize_t limit, tuple score_args,
                       const unsigned char[::1] feasible, const long long[::1] partial,
                       const long long[::1] taint_raw, const long long[::1] aff_raw):
    """Over the feasible rows found from ``start`` round the table (at most ``limit``):
    (found, visited, the only or first row, the highest total, how many rows have it,
    taint max, affinity max), totals as fused_score gives them."""
    cdef ScorePlan plan
    _score_plan_of(&plan, score_args)
    cdef Py_ssize_t n = feasible.shape[0]
    cdef Py_ssize_t j, i, found = 0, visited = 0, first = -1, tied = 0
    cdef long long taint_max = 0, aff_max = 0, total, top = 0, constant
    for j in range(n):
        i = start + j
        if i >= n:
            i -= n
        visited += 1
        if feasible[i]:
            if first < 0:
                first = i
            found += 1
            if taint_raw[i] > taint_max:
                taint_max = taint_raw[i]
            if aff_raw[i] > aff_max:
                aff_max = aff_raw[i]
            if found >= limit:
                break
    if taint_max == 0 and aff_max == 0:
        # no row has an intolerable PreferNoSchedule taint or a preferred term: the
        # normalised parts are the same for every row
        constant = _normalized(&plan, 0, 0, 0, 0)
        for j in range(visited):
            i = start + j
            if i >= n:
                i -= n
            if feasible[i]:
                total = partial[i] + constant
                if tied == 0 or total > top:
                    top = total
                    tied = 1
                elif total == top:
                    tied += 1
        return found, visited, first, top, tied, taint_max, aff_max
    for j in range(visited):
        i = start + j
        if i >= n:
            i -= n
        if feasible[i]:
            total = partial[i] + _normalized(&plan, taint_raw[i], taint_max, aff_raw[i], aff_max)
            if tied == 0 or total > top:
                top = total
                tied = 1
            elif total == top:
                tied += 1
    return found, visited, first, top, tied, taint_max, aff_max


cpdef long long fused_constant(tuple score_args):
    """The weighted normalised TaintToleration and NodeAffinity parts of every row's total
    when no row has a raw taint count or affinity sum."""
    cdef ScorePlan plan
    _score_plan_of(&plan, score_args)
    return _normalized(&plan, 0, 0, 0, 0)


cpdef tuple fused_pick_uniform(Py_ssize_t start, Py_ssize_t limit,
                               const unsigned char[::1] feasible, const long long[::1] partial):
    """fused_pick when no feasible row has a raw taint count or affinity sum (every total is
    the row's partial plus one constant): (found, visited, the first row, the highest
    partial, how many rows have it)."""
    cdef Py_ssize_t n = feasible.shape[0]
    cdef Py_ssize_t j, i, found = 0, visited = 0, first = -1, tied = 0
    cdef long long top = 0, value
    cdef const unsigned char* f = &feasible[0] if n > 0 else NULL
    cdef const long long* p = &partial[0] if n > 0 else NULL
    if limit >= n:
        # every row is visited: one pass in row order (no rotation to work out); the
        # visiting order matters only for the first row, found only when it is alone
        for i in range(n):
            if f[i]:
                value = p[i]
                if found == 0 or value > top:
                    top = value
                    tied = 1
                elif value == top:
                    tied += 1
                found += 1
        if found == 1:
            for j in range(n):
                i = start + j
                if i >= n:
                    i -= n
                if f[i]:
                    first = i
                    break
        elif found > 1:
            first = start  # not used: a pick draws among the tied rows
        return found, n, first, (top if found else 0), tied
    for j in range(n):
        i = start + j
        if i >= n:
            i -= n
        visited += 1
        if f[i]:
            value = p[i]
            if first < 0:
                first = i
                top = value
                tied = 1
            elif value > top:
                top = value
                tied = 1
            elif value == top:
                tied += 1
            found += 1
            if found >= limit:
                break
    return found, visited, first, top, tied


cpdef Py_ssize_t fused_nth_uniform(Py_ssize_t start, Py_ssize_t visited,
                                   const unsigned char[::1] feasible,
                                   const long long[::1] partial, long long top, Py_ssize_t k):
    """The k-th (from 0) feasible row, in the order visited, whose partial is ``top``."""
    cdef Py_ssize_t n = feasible.shape[0]
    cdef Py_ssize_t j, i, seen = 0
    for j in range(visited):
        i = start + j
        if i >= n:
            i -= n
        if feasible[i] and partial[i] == top:
            if seen == k:
                return i
            seen += 1
    return -1


cpdef Py_ssize_t fused_nth(Py_ssize_t start, Py_ssize_t visited, tuple score_args,
                           const unsigned char[::1] feasible, const long long[::1] partial,
                           const long long[::1] taint_raw, const long long[::1] aff_raw,
                           long long taint_max, long long aff_max, long long top, Py_ssize_t k):
    """The row of the k-th (from 0) feasible row with total ``top``, in the order visited."""
    cdef ScorePlan plan
    _score_plan_of(&plan, score_args)
    cdef Py_ssize_t n = feasible.shape[0]
    cdef Py_ssize_t j, i, seen = 0
    for j in range(visited):
        i = start + j
        if i >= n:
            i -= n
        if not feasible[i]:
            continue
        if partial[i] + _normalized(&plan, taint_raw[i], taint_max, aff_raw[i], aff_max) != top:
            continue
        if seen == k:
            return i
        seen += 1
    return -1
