// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QHashFunctions>
#include <QString>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <new>
#include <tuple>
#include <utility>
#include <vector>

namespace goroutinemap {

/*
    The map's per-shard table of names: open addressing with linear probing and backward-shift
    deletion, made for a hot path that runs and finishes millions of operations.

    - A name is hashed once per operation: the caller computes hashName() (which also picks the
      shard) and passes it to find() and try_emplace().
    - Slots are 8 bytes (32 bits of the hash, a node index), so probing rarely leaves a cache
      line and only touches a node's string when the 32 bits match.
    - Two slot arrays, as in a generational garbage collector. New names go to the young
      array, which never grows past YoungCapacity slots; when it is full, all of its names are
      promoted to the old array, which grows without bound, and the young array starts small
      again. Most names die young (an operation that ran and succeeded), so they only ever
      touch a few KiB that stay in the cache. A million names backing off in the old array
      cost a new name one read of the old array's filter instead of a cache miss into 16 MiB
      of slots: a Bloom filter that sets three bits of one 64-bit word per name
      (FilterBitsPerSlot bits per old slot: 1 MiB for a million names) and wrongly answers
      "maybe there" for 3 % of the names that are not at half load, 9 % at the highest
      (each then probes the old slots). Erasing from the old array leaves the name's bits
      set; after capacity / RebuildShare erasures the filter is rebuilt from the slots' tags,
      which costs amortised O(1) (RebuildShare slot reads) per erasure.
    - Nodes live in chunks that double in size (256, 512, ... nodes: few allocations, little
      waste at chunk edges; untouched pages of the last chunk cost nothing) and never move,
      whichever array their slot is in: a node index is a stable handle (a running operation
      finds its entry with find(index, hash) without comparing strings; a backoff deadline
      names its entry by index), and erased nodes are reused without a trip through the
      allocator. Every node below nodeCount() is constructed, an erased one
      default-constructed, so nodeAt() may read any of them. When the table empties, big
      storage is handed back.
    - Iteration (the young array, then the old one) may erase the current element (erase()
      returns the next one) and visits every element exactly once: within an array it starts
      just after an empty slot, and a backward shift only moves elements that are still ahead
      of the iterator.

    The interface mimics std::unordered_map's where the map uses it. Not thread-safe: the
    shard's mutex guards it (prefetch() excepted).
*/
template <typename T>
class NameTable
{
    struct Slot
    {
        quint32 tag; // the low 32 bits of the hash; the home slot is tag & mask
        quint32 index; // NoIndex when empty
    };
    struct SlotArray
    {
        std::unique_ptr<Slot[]> cells;
        size_t mask = 0; // capacity - 1; the capacity is a power of two
        size_t count = 0;

        size_t capacity() const noexcept { return cells ? mask + 1 : 0; }
    };
    enum Generation : unsigned char { Young, Old };

public:
    using value_type = std::pair<const QString, T>;
    static constexpr quint32 NoIndex = std::numeric_limits<quint32>::max();
    //! Node indices stay below this, so that a deadline can pack one in 27 bits.
    static constexpr quint32 MaxNodes = quint32(1) << 27;
    //! The young array's largest capacity: 32 KiB of slots, which stay in the cache.
    static constexpr size_t YoungCapacity = 4096;

    static size_t hashName(const QString &name) noexcept
    {
        return qHash(name, QHashSeed::globalSeed());
    }

    class iterator
    {
    public:
        iterator() = default;
        value_type &operator*() const { return *m_node; }
        value_type *operator->() const { return m_node; }
        iterator &operator++()
        {
            advance(m_generation, m_pos, m_left);
            return *this;
        }
        bool operator==(const iterator &other) const { return m_node == other.m_node; }
        bool operator!=(const iterator &other) const { return m_node != other.m_node; }
        //! The node's stable index (see find(quint32, size_t)).
        quint32 index() const { return m_table->array(m_generation).cells[m_pos].index; }

    private:
        friend class NameTable;
        // At the end; iterating, advance() may go on from there.
        explicit iterator(NameTable *table, bool iterating) : m_table(table), m_iterating(iterating)
        { }
        iterator(NameTable *table, Generation generation, size_t pos, size_t left = 0,
                 bool iterating = false)
            : m_table(table),
              m_node(&table->node(table->array(generation).cells[pos].index)),
              m_pos(pos),
              m_left(left),
              m_generation(generation),
              m_iterating(iterating)
        { }
        // Examines up to `left` slots after `pos` of `generation`'s array for the next
        // element, then, when iterating, the old array from its start.
        void advance(Generation generation, size_t pos, size_t left)
        {
            for (;;) {
                const SlotArray &a = m_table->array(generation);
                while (left > 0) {
                    pos = (pos + 1) & a.mask;
                    --left;
                    if (a.cells[pos].index != NoIndex) {
                        *this = iterator(m_table, generation, pos, left, m_iterating);
                        return;
                    }
                }
                if (generation == Old || !m_iterating || m_table->m_old.count == 0)
                    break;
                generation = Old;
                pos = emptySlot(m_table->m_old);
                left = m_table->m_old.mask + 1;
            }
            *this = iterator(m_table, false);
        }

        NameTable *m_table = nullptr;
        value_type *m_node = nullptr; // nullptr at the end
        size_t m_pos = 0;
        size_t m_left = 0; // slots of this array the iteration has yet to examine
        Generation m_generation = Young;
        bool m_iterating = false; // from begin(), not from find(): goes on to the old array
    };

    NameTable() = default;
    NameTable(const NameTable &) = delete;
    NameTable &operator=(const NameTable &) = delete;
    ~NameTable() { clear(); }

    size_t size() const noexcept { return m_young.count + m_old.count; }
    //! Nodes constructed so far; nodeAt() accepts any index below it.
    quint32 nodeCount() const noexcept { return m_nodes; }
    //! The node with \a index, live or erased (then default-constructed); nullptr from nodeCount() on.
    value_type *nodeAt(quint32 index) const { return index < m_nodes ? &node(index) : nullptr; }
    bool empty() const noexcept { return size() == 0; }
    //! Elements in the old array (for tests).
    size_t oldSize() const noexcept { return m_old.count; }

    iterator end() const { return iterator(); }
    iterator begin() const
    {
        iterator it(const_cast<NameTable *>(this), true);
        if (m_young.count > 0)
            it.advance(Young, emptySlot(m_young), m_young.mask + 1);
        else if (m_old.count > 0)
            it.advance(Old, emptySlot(m_old), m_old.mask + 1);
        return it;
    }

    /*!
        Starts loading what a lookup of \a hash reads first into the cache: the young array's
        slot and the old array's filter word. Needs no lock: it reads copies of their addresses
        that may be out of date, which is harmless because a prefetch never faults. Call it
        before taking the lock, so that a cache miss overlaps with the wait for the lock.
    */
    void prefetch(size_t hash) const noexcept
    {
#if defined(__GNUC__)
        const quint32 tag = quint32(hash);
        if (const std::uintptr_t cells = m_youngHint.load(std::memory_order_relaxed)) {
            const size_t pos = tag & m_youngMaskHint.load(std::memory_order_relaxed);
            __builtin_prefetch(reinterpret_cast<const void *>(cells + pos * sizeof(Slot)));
        }
        if (const std::uintptr_t filter = m_filterHint.load(std::memory_order_relaxed)) {
            const size_t word = filterWord(tag, m_filterMaskHint.load(std::memory_order_relaxed));
            __builtin_prefetch(reinterpret_cast<const void *>(filter + word * sizeof(quint64)));
        }
#else
        Q_UNUSED(hash);
#endif
    }

    iterator find(const QString &name) const
    {
        return find(name, hashName(name));
    }
    iterator find(const QString &name, size_t hash) const
    {
        return find(name, hash, [] {});
    }
    /*!
        find() that calls \a between() after looking in the young array and before reading the
        old array's filter, for a caller with work to do anyway: it then overlaps the filter's
        cache miss, which prefetch() started. Not called when the name is young or there is no
        old array.
    */
    template <typename Between>
    iterator find(const QString &name, size_t hash, Between &&between) const
    {
        return findWhere(
                quint32(hash), [&](const Slot &slot) { return node(slot.index).first == name; },
                between);
    }
    //! The element with node index \a index, whose name hashed to \a hash; end() if none.
    iterator find(quint32 index, size_t hash) const
    {
        return findWhere(
                quint32(hash), [index](const Slot &slot) { return slot.index == index; }, [] {});
    }

    std::pair<iterator, bool> try_emplace(const QString &name)
    {
        return try_emplace(name, hashName(name), [] {});
    }
    std::pair<iterator, bool> try_emplace(const QString &name, size_t hash)
    {
        return try_emplace(name, hash, [] {});
    }
    //! Inserting may move other elements' slots (never their nodes): other iterators are then
    //! only good for dereferencing. \a between as for find().
    template <typename Between>
    std::pair<iterator, bool> try_emplace(const QString &name, size_t hash, Between &&between)
    {
        const iterator found = find(name, hash, between);
        if (found != end())
            return {found, false};
        if (!fitsOneMore(m_young)) {
            if (m_young.capacity() < YoungCapacity)
                rehash(m_young, m_young.cells ? m_young.capacity() * 2 : InitialCapacity);
            else
                promoteYoung();
        }
        const quint32 index = allocateNode();
        value_type *storage = &node(index);
        storage->~value_type(); // a free node is default-constructed
        ::new (static_cast<void *>(storage)) value_type(
                std::piecewise_construct, std::forward_as_tuple(name), std::forward_as_tuple());
        const size_t pos = place(m_young, Slot{quint32(hash), index});
        ++m_young.count;
        return {iterator(this, Young, pos), true};
    }

    /*!
        Removes the element at \a it. Returns the element an iteration from begin() visits
        next, or end() for an iterator that find() or try_emplace() returned.
    */
    iterator erase(iterator it)
    {
        const Generation generation = it.m_generation;
        SlotArray &a = array(generation);
        const size_t pos = it.m_pos;
        const size_t left = it.m_left;
        const quint32 index = a.cells[pos].index;
        // Not end(), and not an iterator that a later insertion moved (see try_emplace()).
        Q_ASSERT(it.m_node && index != NoIndex && &node(index) == it.m_node);
        value_type *storage = &node(index);
        storage->~value_type();
        ::new (static_cast<void *>(storage)) value_type(); // erased nodes stay readable
        m_free.push_back(index);
        --a.count;
        if (empty()
            && (m_old.cells || m_young.capacity() > KeepCapacity || m_nodes > KeepCapacity)) {
            release();
            return end();
        }
        // Backward shift: pull later elements of the cluster into the hole.
        size_t hole = pos;
        for (size_t q = (pos + 1) & a.mask;; q = (q + 1) & a.mask) {
            const Slot slot = a.cells[q];
            if (slot.index == NoIndex)
                break;
            const size_t home = slot.tag & a.mask;
            if (((q - home) & a.mask) >= ((q - hole) & a.mask)) {
                a.cells[hole] = slot;
                hole = q;
            }
        }
        a.cells[hole] = Slot{0, NoIndex};
        if (generation == Old) {
            if (m_old.count == 0) {
                releaseOld(); // nothing of it is left to visit
                return end();
            }
            if (++m_staleInFilter >= m_old.capacity() / RebuildShare)
                rebuildFilter();
        }
        if (!it.m_iterating)
            return end();
        if (a.cells[pos].index != NoIndex) // the shift pulled the next element here
            return iterator(this, generation, pos, left, true);
        iterator next(this, true);
        next.advance(generation, pos, left);
        return next;
    }

    void clear()
    {
        release();
    }

private:
    struct alignas(value_type) NodeStorage
    {
        unsigned char bytes[sizeof(value_type)];
    };

    static constexpr unsigned FirstChunkBits = 8; // chunk k holds 256 << k nodes
    static constexpr size_t MaxLoadNum = 4; // grow above 4/5 full
    static constexpr size_t MaxLoadDen = 5;
    static constexpr size_t InitialCapacity = 16;
    static constexpr size_t KeepCapacity = 1024; // storage kept when the table empties
    static constexpr size_t FilterBitsPerSlot = 4;
    static constexpr size_t RebuildShare = 8; // rebuild after capacity / 8 erasures
    static constexpr size_t NotFound = std::numeric_limits<size_t>::max();

    SlotArray &array(Generation generation) noexcept
    {
        return generation == Young ? m_young : m_old;
    }
    const SlotArray &array(Generation generation) const noexcept
    {
        return generation == Young ? m_young : m_old;
    }

    static bool fitsOneMore(const SlotArray &a) noexcept
    {
        return a.cells && (a.count + 1) * MaxLoadDen <= (a.mask + 1) * MaxLoadNum;
    }

    // An empty slot of \a a, where an iteration starts; there is always one, because the load
    // stays at most MaxLoadNum / MaxLoadDen.
    static size_t emptySlot(const SlotArray &a) noexcept
    {
        size_t pos = 0;
        while (a.cells[pos].index != NoIndex)
            ++pos;
        return pos;
    }

    // Stores \a slot in \a a's first free slot from its home; returns where.
    static size_t place(SlotArray &a, Slot slot) noexcept
    {
        size_t pos = slot.tag & a.mask;
        while (a.cells[pos].index != NoIndex)
            pos = (pos + 1) & a.mask;
        a.cells[pos] = slot;
        return pos;
    }

    // Every iterator returned is made in place: copying one out of a local costs a store
    // forwarding stall per field when the caller reads it back (figure 1 lost 30 ns so).
    template <typename Match, typename Between>
    iterator findWhere(quint32 tag, Match match, Between &&between) const
    {
        auto *self = const_cast<NameTable *>(this);
        if (m_young.count > 0) {
            const size_t pos = probe(m_young, tag, match);
            if (pos != NotFound)
                return iterator(self, Young, pos);
        }
        if (m_old.count == 0)
            return end();
        between();
        if (filterMayHold(tag)) {
            const size_t pos = probe(m_old, tag, match);
            if (pos != NotFound)
                return iterator(self, Old, pos);
        }
        return end();
    }

    template <typename Match>
    static size_t probe(const SlotArray &a, quint32 tag, Match &match)
    {
        for (size_t pos = tag & a.mask;; pos = (pos + 1) & a.mask) {
            const Slot slot = a.cells[pos];
            if (slot.index == NoIndex)
                return NotFound;
            if (slot.tag == tag && match(slot))
                return pos;
        }
    }

    // --- the old array's filter -----------------------------------------------------------
    // A register-blocked Bloom filter: a tag sets three bits of one 64-bit word, so a lookup
    // reads one word. Word and bits come from two multiplicative hashes of the 32-bit tag
    // (all the filter can be rebuilt from), independent of the tag's low bits, which pick
    // the home slot.
    static size_t filterWord(quint32 tag, size_t mask) noexcept
    {
        return size_t((quint64(tag) * 0x9E3779B97F4A7C15ULL) >> 32) & mask;
    }
    static quint64 filterBits(quint32 tag) noexcept
    {
        const quint64 h = quint64(tag) * 0xD6E8FEB86659FD93ULL;
        return (quint64(1) << (h >> 58)) | (quint64(1) << ((h >> 52) & 63))
                | (quint64(1) << ((h >> 46) & 63));
    }
    bool filterMayHold(quint32 tag) const noexcept
    {
        const quint64 bits = filterBits(tag);
        return (m_filter[filterWord(tag, m_filterMask)] & bits) == bits;
    }
    void filterAdd(quint32 tag) noexcept
    {
        m_filter[filterWord(tag, m_filterMask)] |= filterBits(tag);
    }

    // Sizes the filter for the old array's capacity and sets the bits of its tags.
    void rebuildFilter()
    {
        const size_t words = m_old.capacity() * FilterBitsPerSlot / 64; // capacity >= 16
        if (words != m_filterMask + 1 || !m_filter) {
            m_filter.reset(new quint64[words]);
            m_filterMask = words - 1;
            m_filterHint.store(reinterpret_cast<std::uintptr_t>(m_filter.get()),
                               std::memory_order_relaxed);
            m_filterMaskHint.store(m_filterMask, std::memory_order_relaxed);
        }
        std::fill_n(m_filter.get(), words, quint64(0));
        for (size_t pos = 0; pos < m_old.capacity(); ++pos) {
            if (m_old.cells[pos].index != NoIndex)
                filterAdd(m_old.cells[pos].tag);
        }
        m_staleInFilter = 0;
    }

    // Moves every young slot to the old array; the nodes stay where they are.
    void promoteYoung()
    {
        size_t capacity = std::max(m_old.capacity(), InitialCapacity);
        while ((m_old.count + m_young.count) * MaxLoadDen > capacity * MaxLoadNum)
            capacity *= 2;
        if (capacity != m_old.capacity()) {
            rehash(m_old, capacity);
            rebuildFilter();
        }
        for (size_t pos = 0; pos < m_young.capacity(); ++pos) {
            const Slot slot = m_young.cells[pos];
            if (slot.index == NoIndex)
                continue;
            place(m_old, slot);
            filterAdd(slot.tag);
        }
        m_old.count += m_young.count;
        m_young.count = 0;
        // Start small again: the names that follow may be few, and a young array the size of
        // the burst that filled it would spread them over more of the cache.
        allocate(m_young, InitialCapacity);
    }

    // Gives \a a \a capacity slots, keeping its elements.
    void rehash(SlotArray &a, size_t capacity)
    {
        const std::unique_ptr<Slot[]> old = std::move(a.cells);
        const size_t oldCapacity = old ? a.mask + 1 : 0;
        allocate(a, capacity);
        for (size_t pos = 0; pos < oldCapacity; ++pos) {
            if (old[pos].index != NoIndex)
                place(a, old[pos]);
        }
    }

    // Gives \a a \a capacity empty slots, dropping what it held.
    void allocate(SlotArray &a, size_t capacity)
    {
        a.cells.reset(new Slot[capacity]);
        a.mask = capacity - 1;
        std::fill_n(a.cells.get(), capacity, Slot{0, NoIndex});
        if (&a == &m_young) {
            m_youngHint.store(reinterpret_cast<std::uintptr_t>(a.cells.get()),
                              std::memory_order_relaxed);
            m_youngMaskHint.store(a.mask, std::memory_order_relaxed);
        }
    }

    // Chunk k starts at node 256 * (2^k - 1).
    static unsigned chunkOf(quint32 index) noexcept
    {
        const quint32 scaled = (index >> FirstChunkBits) + 1; // in [2^k, 2^(k+1))
#if defined(__GNUC__)
        return unsigned(31 - __builtin_clz(scaled));
#else
        unsigned k = 0;
        while (scaled >> (k + 1))
            ++k;
        return k;
#endif
    }
    static quint32 chunkStart(unsigned k) noexcept
    {
        return ((quint32(1) << k) - 1) << FirstChunkBits;
    }

    value_type &node(quint32 index) const
    {
        const unsigned k = chunkOf(index);
        return *std::launder(reinterpret_cast<value_type *>(&m_chunks[k][index - chunkStart(k)]));
    }

    quint32 allocateNode()
    {
        if (!m_free.empty()) {
            const quint32 index = m_free.back();
            m_free.pop_back();
            return index;
        }
        Q_ASSERT(m_nodes < MaxNodes);
        const quint32 index = m_nodes;
        const unsigned k = chunkOf(index);
        if (k == m_chunks.size())
            m_chunks.emplace_back(new NodeStorage[size_t(1) << (FirstChunkBits + k)]);
        ::new (static_cast<void *>(&m_chunks[k][index - chunkStart(k)])) value_type();
        ++m_nodes;
        return index;
    }

    // Drops the old array and its filter; only when it holds nothing.
    void releaseOld()
    {
        m_old.cells.reset();
        m_old.mask = 0;
        m_filter.reset();
        m_filterMask = 0;
        m_staleInFilter = 0;
        m_filterHint.store(0, std::memory_order_relaxed);
        m_filterMaskHint.store(0, std::memory_order_relaxed);
    }

    // Drops all storage; only with no live element.
    void release()
    {
        for (quint32 index = 0; index < m_nodes; ++index)
            node(index).~value_type();
        m_young = SlotArray();
        m_youngHint.store(0, std::memory_order_relaxed);
        m_youngMaskHint.store(0, std::memory_order_relaxed);
        releaseOld();
        m_old.count = 0;
        m_chunks.clear();
        m_chunks.shrink_to_fit();
        m_free.clear();
        m_free.shrink_to_fit();
        m_nodes = 0;
    }

    SlotArray m_young;
    SlotArray m_old;
    std::unique_ptr<quint64[]> m_filter; // over m_old's tags; null while m_old is
    size_t m_filterMask = 0; // words - 1; the word count is a power of two
    size_t m_staleInFilter = 0; // old elements erased since the filter was built
    std::vector<std::unique_ptr<NodeStorage[]>> m_chunks;
    std::vector<quint32> m_free;
    quint32 m_nodes = 0; // nodes ever allocated in m_chunks
    // prefetch()'s copies, which it reads without the lock
    std::atomic<std::uintptr_t> m_youngHint{0};
    std::atomic<size_t> m_youngMaskHint{0};
    std::atomic<std::uintptr_t> m_filterHint{0};
    std::atomic<size_t> m_filterMaskHint{0};
};

} // namespace goroutinemap
