"""The scheduler's per-node arithmetic over node tables, in pure Python (twin of ``_kernels.pyx``).

Contract: every function reads and writes flat columns, one entry per node of a
``NodeTable`` (``array('q')`` of int64, ``bytearray`` of flags), or per feasible
node when it takes ``idx`` (the feasible nodes' row numbers, in order). The two
twins give identical results for every input; integer division truncates toward
zero as Go's does, float arithmetic is IEEE double in the same order, and no
function keeps state. The compiled twin exists for speed only.
"""

from __future__ import annotations

from array import array
from math import sqrt

MAX_NODE_SCORE = 100
MAX_UTILIZATION = 100

# scoring strategies of resource_scores
LEAST_ALLOCATED = 0
MOST_ALLOCATED = 1
REQUESTED_TO_CAPACITY_RATIO = 2


def _div(a, b):
    """Go's integer division (truncation toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def zeros(n):
    """A fresh int64 column of ``n`` zeros."""
    return array("q", bytes(8 * n))


# -- filters: each writes a non-zero key for a node it rejects -----------------------


def mark_insufficient(want, alloc, used, bit, mask, unresolvable, track):
    """mask[i] |= bit where want > alloc[i] - used[i]; when ``track``, unresolvable[i] = 1
    where want > alloc[i] (no eviction can make room)."""
    for i in range(len(alloc)):
        if want > alloc[i] - used[i]:
            mask[i] |= bit
            if track and want > alloc[i]:
                unresolvable[i] = 1


def flag_keys(flags, key, keys):
    """keys[i] = key where flags[i] is set and keys[i] is still 0."""
    for i in range(len(flags)):
        if flags[i] and keys[i] == 0:
            keys[i] = key


def fill_keys_except(keys, key, keep):
    """keys[i] = key for every node but row ``keep`` (-1: every node)."""
    for i in range(len(keys)):
        if i != keep:
            keys[i] = key


def first_flagged(rows, width, flagged, keys):
    """keys[i] = 1 + the first id in row i of the (n x width) id table (-1 pads) whose
    flag is set, 0 when none is."""
    n = len(keys)
    for i in range(n):
        keys[i] = 0
        base = i * width
        for j in range(width):
            t = rows[base + j]
            if t < 0:
                break
            if flagged[t]:
                keys[i] = t + 1
                break


def merge_keys(codes, keys, base):
    """codes[i] = base + keys[i] where codes[i] == 0 and keys[i] != 0: a node keeps the
    first rejection of the filters in order. Returns how many nodes were newly rejected."""
    count = 0
    for i in range(len(codes)):
        if codes[i] == 0 and keys[i] != 0:
            codes[i] = base + keys[i]
            count += 1
    return count


def feasible_rows(codes, start, limit):
    """(the rows with code 0, visited from ``start`` round the table, at most ``limit`` of
    them; how many rows were visited to find them)."""
    n = len(codes)
    found = array("q")
    visited = 0
    for j in range(n):
        i = start + j
        if i >= n:
            i -= n
        visited += 1
        if codes[i] == 0:
            found.append(i)
            if len(found) >= limit:
                break
    return found, visited


# -- label matching (node affinity, nodeSelector) -------------------------------------


def and_lookup(column, allowed, absent, acc):
    """acc[i] &= (absent if column[i] < 0 else allowed[column[i]]): one requirement of a
    term over a label column of value ids."""
    for i in range(len(acc)):
        if acc[i]:
            v = column[i]
            acc[i] = absent if v < 0 else allowed[v]


def or_into(src, dst):
    """dst[i] |= src[i]."""
    for i in range(len(dst)):
        if src[i]:
            dst[i] = 1


def keys_where_unset(acc, key, keys):
    """keys[i] = key where acc[i] is 0."""
    for i in range(len(acc)):
        keys[i] = 0 if acc[i] else key


def add_where(idx, acc, weight, out):
    """out[j] += weight where acc[idx[j]] is set."""
    for j in range(len(idx)):
        if acc[idx[j]]:
            out[j] += weight


# -- scores over the feasible rows -----------------------------------------------------


def count_flagged(idx, rows, width, flagged, out):
    """out[j] = how many ids of row idx[j] have their flag set."""
    for j in range(len(idx)):
        base = idx[j] * width
        count = 0
        for k in range(width):
            t = rows[base + k]
            if t < 0:
                break
            if flagged[t]:
                count += 1
        out[j] = count


def _broken_linear(p, shape_u, shape_s):
    for i in range(len(shape_u)):
        if p <= shape_u[i]:
            if i == 0:
                return shape_s[0]
            return shape_s[i - 1] + _div(
                (shape_s[i] - shape_s[i - 1]) * (p - shape_u[i - 1]), shape_u[i] - shape_u[i - 1]
            )
    return shape_s[len(shape_s) - 1]


def _round_ratio(total, weight_sum):
    """Go's math.Round(total / weight_sum) for total >= 0, weight_sum > 0 (halves away
    from zero), in integers."""
    return (2 * total + weight_sum) // (2 * weight_sum)


def resource_scores(idx, strategy, wants, allocs, useds, weights, shape_u, shape_s, out):
    """NodeResourcesFit's score of each feasible node over the resources given (column r:
    the pod's request wants[r], allocatable allocs[r], requested useds[r], weight weights[r]):
    LeastAllocated, MostAllocated or RequestedToCapacityRatio (shape in 0..100 scores)."""
    count = len(wants)
    for j in range(len(idx)):
        i = idx[j]
        total = 0
        weight_sum = 0
        for r in range(count):
            capacity = allocs[r][i]
            if capacity == 0:
                continue
            requested = useds[r][i] + wants[r]
            weight = weights[r]
            if strategy == LEAST_ALLOCATED:
                score = (
                    0
                    if requested > capacity
                    else (capacity - requested) * MAX_NODE_SCORE // capacity
                )
            elif strategy == MOST_ALLOCATED:
                score = min(requested, capacity) * MAX_NODE_SCORE // capacity
            else:
                if requested > capacity:
                    score = _broken_linear(MAX_UTILIZATION, shape_u, shape_s)
                else:
                    score = _broken_linear(
                        requested * MAX_UTILIZATION // capacity, shape_u, shape_s
                    )
                if score <= 0:
                    continue
            total += score * weight
            weight_sum += weight
        if weight_sum == 0:
            out[j] = 0
        elif strategy == REQUESTED_TO_CAPACITY_RATIO:
            out[j] = _round_ratio(total, weight_sum)
        else:
            out[j] = total // weight_sum


def balanced_scores(idx, wants, allocs, useds, out):
    """NodeResourcesBalancedAllocation: int((1 - std) * 100) of the fractions
    (requested / allocatable, capped at 1) of the resources with allocatable."""
    count = len(wants)
    fractions = [0.0] * count
    for j in range(len(idx)):
        i = idx[j]
        m = 0
        total = 0.0
        for r in range(count):
            capacity = allocs[r][i]
            if capacity == 0:
                continue
            fraction = (useds[r][i] + wants[r]) / capacity
            if fraction > 1:
                fraction = 1.0
            total += fraction
            fractions[m] = fraction
            m += 1
        std = 0.0
        if m == 2:
            std = abs((fractions[0] - fractions[1]) / 2)
        elif m > 2:
            mean = total / m
            acc = 0.0
            for r in range(m):
                acc = acc + (fractions[r] - mean) * (fractions[r] - mean)
            std = sqrt(acc / m)
        out[j] = int((1 - std) * MAX_NODE_SCORE)


def gather(idx, column, out):
    """out[j] = column[idx[j]]."""
    for j in range(len(idx)):
        out[j] = column[idx[j]]


def normalize(raw, reverse, out):
    """helper.DefaultNormalizeScore: raw * 100 / highest (Go division), reversed as
    100 - that; all-zero scores stay 0, or become 100 when reversed."""
    n = len(raw)
    highest = 0
    for j in range(n):
        if raw[j] > highest:
            highest = raw[j]
    if highest == 0:
        for j in range(n):
            out[j] = MAX_NODE_SCORE if reverse else raw[j]
        return
    for j in range(n):
        scaled = _div(MAX_NODE_SCORE * raw[j], highest)
        out[j] = MAX_NODE_SCORE - scaled if reverse else scaled


def first_out_of_range(scores, low, high):
    """The first j with scores[j] outside [low, high], or -1."""
    for j in range(len(scores)):
        if scores[j] < low or scores[j] > high:
            return j
    return -1


def weighted_add(scores, weight, totals):
    """totals[j] += scores[j] * weight."""
    for j in range(len(scores)):
        totals[j] += scores[j] * weight


def best(totals):
    """(the highest total, how many entries have it)."""
    top = totals[0]
    count = 0
    for j in range(len(totals)):
        if totals[j] > top:
            top = totals[j]
            count = 1
        elif totals[j] == top:
            count += 1
    return top, count


def nth_with(totals, value, k):
    """The position of the k-th (from 0) entry equal to ``value``."""
    seen = 0
    for j in range(len(totals)):
        if totals[j] == value:
            if seen == k:
                return j
            seen += 1
    return -1


def changed_rows(old, new):
    """The positions where ``new[i] is not old[i]`` (same lengths)."""
    return [i for i in range(len(new)) if new[i] is not old[i]]


def combine_mask(mask, unresolvable, keys):
    """keys[i] = mask[i] * 2 + unresolvable[i] where mask[i] != 0, else 0."""
    for i in range(len(keys)):
        keys[i] = mask[i] * 2 + unresolvable[i] if mask[i] else 0


def and_into(src, dst):
    """dst[i] &= src[i]."""
    for i in range(len(dst)):
        if not src[i]:
            dst[i] = 0


# -- the fused cycle of the default plugins ------------------------------------------------


def fused_filter(
    start,
    limit,
    unschedulable,
    check_unschedulable,
    keep,
    rows,
    width,
    flagged,
    affinity,
    alloc_pods,
    pod_count,
    wants,
    allocs,
    useds,
):
    """The feasible rows under NodeUnschedulable (when ``check_unschedulable``), NodeName
    (``keep``: -2 any row, -1 none, else that row), TaintToleration (``flagged`` per taint
    id, empty: no check), NodeAffinity (``affinity`` per row, empty: no check) and
    NodeResourcesFit (a free pod slot, and wants[r] <= allocs[r] - useds[r]), visited from
    ``start`` round the table until ``limit`` are found: (rows, visited) as feasible_rows."""
    n = len(pod_count)
    found = array("q")
    visited = 0
    count = len(wants)
    check_taints = width > 0 and len(flagged) > 0
    check_affinity = len(affinity) > 0
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
            base = i * width
            tainted = False
            for k in range(width):
                t = rows[base + k]
                if t < 0:
                    break
                if flagged[t]:
                    tainted = True
                    break
            if tainted:
                continue
        if check_affinity and not affinity[i]:
            continue
        if alloc_pods[i] - pod_count[i] < 1:
            continue
        fits = True
        for r in range(count):
            if wants[r] > allocs[r][i] - useds[r][i]:
                fits = False
                break
        if not fits:
            continue
        found.append(i)
        if len(found) >= limit:
            break
    return found, visited


def fused_score(
    idx,
    strategy,
    wants,
    allocs,
    useds,
    weights,
    shape_u,
    shape_s,
    fit_weight,
    bal_wants,
    bal_allocs,
    bal_useds,
    bal_weight,
    rows,
    width,
    prefer,
    taint_weight,
    terms,
    term_weights,
    affinity_weight,
    totals,
):
    """totals[j] += the weighted, normalised scores of NodeResourcesFit (when fit_weight),
    BalancedAllocation (when bal_weight), TaintToleration (when taint_weight: PreferNoSchedule
    taints flagged in ``prefer``, reversed) and NodeAffinity (when affinity_weight: the
    weights of the preferred ``terms`` held per row) of the feasible rows ``idx``; the same
    numbers as the kernels above, one plugin at a time."""
    n = len(idx)
    scratch = zeros(n)
    if fit_weight:
        resource_scores(idx, strategy, wants, allocs, useds, weights, shape_u, shape_s, scratch)
        weighted_add(scratch, fit_weight, totals)
    if bal_weight:
        balanced_scores(idx, bal_wants, bal_allocs, bal_useds, scratch)
        weighted_add(scratch, bal_weight, totals)
    final = zeros(n)
    if taint_weight:
        if width > 0:
            count_flagged(idx, rows, width, prefer, scratch)
        else:
            scratch = zeros(n)
        normalize(scratch, 1, final)
        weighted_add(final, taint_weight, totals)
    if affinity_weight:
        scratch = zeros(n)
        for term, weight in zip(terms, term_weights):
            add_where(idx, term, weight, scratch)
        normalize(scratch, 0, final)
        weighted_add(final, affinity_weight, totals)


# -- the incremental fused cycle: per-row results kept between pods of one template ----------


def _one(i):
    return array("q", [i])


def _row_parts(i, score_args):
    """(partial, raw taint count, raw affinity sum) of row i, by the kernels above."""
    (strategy, wants, allocs, useds, weights, shape_u, shape_s, fit_weight, bal_wants,
     bal_allocs, bal_useds, bal_weight, rows, width, prefer, taint_weight, terms,
     term_weights, affinity_weight) = score_args  # fmt: skip
    out = zeros(1)
    partial = 0
    if fit_weight:
        resource_scores(_one(i), strategy, wants, allocs, useds, weights, shape_u, shape_s, out)
        partial += out[0] * fit_weight
    if bal_weight:
        balanced_scores(_one(i), bal_wants, bal_allocs, bal_useds, out)
        partial += out[0] * bal_weight
    taints = 0
    if taint_weight and width > 0:
        count_flagged(_one(i), rows, width, prefer, out)
        taints = out[0]
    affinity = 0
    if affinity_weight:
        for term, weight in zip(terms, term_weights):
            if term[i]:
                affinity += weight
    return partial, taints, affinity


def _normalized(score_args, taints, taint_max, affinity, aff_max):
    taint_weight, affinity_weight = score_args[15], score_args[18]
    out = 0
    if taint_weight:
        if taint_max == 0:
            out += MAX_NODE_SCORE * taint_weight
        else:
            out += (MAX_NODE_SCORE - _div(MAX_NODE_SCORE * taints, taint_max)) * taint_weight
    if affinity_weight and aff_max > 0:
        out += _div(MAX_NODE_SCORE * affinity, aff_max) * affinity_weight
    return out


class FusedPlan:
    """``eval(changed, feasible, partial, taint_raw, aff_raw)`` re-evaluates the rows
    ``changed``: feasible[i], and for a feasible row its partial (fit and balanced) score and
    its raw taint count and affinity weight sum (the compiled twin works out its plans once)."""

    def __init__(self, filter_args, score_args):
        self.filter_args, self.score_args = filter_args, score_args

    def eval(self, changed, feasible, partial, taint_raw, aff_raw):
        for i in changed:
            found, _ = fused_filter(i, 1, *self.filter_args)
            if len(found) and found[0] == i:
                feasible[i] = 1
                partial[i], taint_raw[i], aff_raw[i] = _row_parts(i, self.score_args)
            else:
                feasible[i] = 0


def _visit(start, n, visited):
    for j in range(visited):
        i = start + j
        yield i - n if i >= n else i


def fused_pick(start, limit, score_args, feasible, partial, taint_raw, aff_raw):
    """Over the feasible rows found from ``start`` round the table (at most ``limit``):
    (found, visited, the only or first row, the highest total, how many rows have it,
    taint max, affinity max), totals as fused_score gives them."""
    n = len(feasible)
    found = visited = tied = 0
    first = -1
    taint_max = aff_max = top = 0
    for i in _visit(start, n, n):
        visited += 1
        if feasible[i]:
            if first < 0:
                first = i
            found += 1
            taint_max = max(taint_max, taint_raw[i])
            aff_max = max(aff_max, aff_raw[i])
            if found >= limit:
                break
    for i in _visit(start, n, visited):
        if feasible[i]:
            total = partial[i] + _normalized(
                score_args, taint_raw[i], taint_max, aff_raw[i], aff_max
            )
            if tied == 0 or total > top:
                top, tied = total, 1
            elif total == top:
                tied += 1
    return found, visited, first, top, tied, taint_max, aff_max


def fused_constant(score_args):
    """The weighted normalised TaintToleration and NodeAffinity parts of every row's total
    when no row has a raw taint count or affinity sum."""
    return _normalized(score_args, 0, 0, 0, 0)


def fused_pick_uniform(start, limit, feasible, partial):
    """fused_pick when no feasible row has a raw taint count or affinity sum (every total is
    the row's partial plus one constant): (found, visited, the first row, the highest
    partial, how many rows have it) in one pass."""
    n = len(feasible)
    found = visited = tied = 0
    first = -1
    top = 0
    for i in _visit(start, n, n):
        visited += 1
        if feasible[i]:
            if first < 0 or partial[i] > top:
                first = i if first < 0 else first
                top, tied = partial[i], 1
            elif partial[i] == top:
                tied += 1
            found += 1
            if found >= limit:
                break
    return found, visited, first, top, tied


def fused_nth_uniform(start, visited, feasible, partial, top, k):
    """The k-th (from 0) feasible row, in the order visited, whose partial is ``top``."""
    seen = 0
    for i in _visit(start, len(feasible), visited):
        if feasible[i] and partial[i] == top:
            if seen == k:
                return i
            seen += 1
    return -1


def fused_nth(
    start, visited, score_args, feasible, partial, taint_raw, aff_raw, taint_max, aff_max, top, k
):
    """The row of the k-th (from 0) feasible row with total ``top``, in the order visited."""
    seen = 0
    for i in _visit(start, len(feasible), visited):
        if feasible[i]:
            total = partial[i] + _normalized(
                score_args, taint_raw[i], taint_max, aff_raw[i], aff_max
            )
            if total == top:
                if seen == k:
                    return i
                seen += 1
    return -1


def lookup_keys(column, flags, missing_key, flagged_key, keys):
    """For each row still passing (keys[i] == 0): keys[i] = missing_key where the row has no
    value in ``column`` (-1), flagged_key where flags[value] is set."""
    for i in range(len(keys)):
        if keys[i] == 0:
            v = column[i]
            if v < 0:
                keys[i] = missing_key
            elif flags[v]:
                keys[i] = flagged_key
