// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QHashFunctions>
#include <QString>

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
      shard) and passes it to find() and tryEmplace().
    - Slots are 8 bytes (32 bits of the hash, a node index), so probing rarely leaves a cache
      line and only touches a node's string when the 32 bits match.
    - Nodes live in chunks that double in size (256, 512, ... nodes: few allocations, little
      waste at chunk edges; untouched pages of the last chunk cost nothing) and never move: a
      node index is a stable handle (a running operation finds its entry with find(index,
      hash) without comparing strings; a backoff deadline names its entry by index), and
      erased nodes are reused without a trip through the allocator. Every node below
      nodeCount() is constructed, an erased one default-constructed, so nodeAt() may read any
      of them. When the table empties, big storage is handed back.
    - Iteration may erase the current element (erase() returns the next one) and visits every
      element exactly once: it starts just after an empty slot, and a backward shift only
      moves elements that are still ahead of the iterator.

    The interface mimics std::unordered_map's where the map uses it. Not thread-safe: the
    shard's mutex guards it.
*/
template <typename T>
class NameTable
{
public:
    using value_type = std::pair<const QString, T>;
    static constexpr quint32 NoIndex = std::numeric_limits<quint32>::max();
    //! Node indices stay below this, so that a deadline can pack one in 27 bits.
    static constexpr quint32 MaxNodes = quint32(1) << 27;

    static size_t hashName(const QString &name) noexcept
    {
        return qHash(name, QHashSeed::globalSeed());
    }

    class iterator
    {
    public:
        iterator() = default;
        value_type &operator*() const { return m_table->node(m_table->m_slots[m_pos].index); }
        value_type *operator->() const { return &**this; }
        iterator &operator++()
        {
            advance(m_pos, m_left);
            return *this;
        }
        bool operator==(const iterator &other) const { return m_pos == other.m_pos; }
        bool operator!=(const iterator &other) const { return m_pos != other.m_pos; }
        //! The node's stable index (see find(quint32, size_t)).
        quint32 index() const { return m_table->m_slots[m_pos].index; }

    private:
        friend class NameTable;
        static constexpr size_t End = std::numeric_limits<size_t>::max();
        iterator(NameTable *table, size_t pos, size_t left)
            : m_table(table), m_pos(pos), m_left(left)
        { }
        // Examines up to `left` slots after `pos` for the next element.
        void advance(size_t pos, size_t left)
        {
            while (left > 0) {
                pos = (pos + 1) & m_table->m_mask;
                --left;
                if (m_table->m_slots[pos].index != NoIndex) {
                    m_pos = pos;
                    m_left = left;
                    return;
                }
            }
            m_pos = End;
            m_left = 0;
        }

        NameTable *m_table = nullptr;
        size_t m_pos = End;
        size_t m_left = 0; // slots the iteration has yet to examine
    };

    NameTable() = default;
    NameTable(const NameTable &) = delete;
    NameTable &operator=(const NameTable &) = delete;
    ~NameTable() { clear(); }

    size_t size() const noexcept { return m_count; }
    //! Nodes constructed so far; nodeAt() accepts any index below it.
    quint32 nodeCount() const noexcept { return m_nodes; }
    //! The node with \a index, live or erased (then default-constructed); nullptr from nodeCount() on.
    value_type *nodeAt(quint32 index) const { return index < m_nodes ? &node(index) : nullptr; }
    bool empty() const noexcept { return m_count == 0; }

    iterator end() const { return iterator(const_cast<NameTable *>(this), iterator::End, 0); }
    iterator begin() const
    {
        auto *self = const_cast<NameTable *>(this);
        if (m_count == 0)
            return end();
        size_t start = 0;
        while (m_slots[start].index != NoIndex)
            ++start; // there is always an empty slot: the load stays below MaxLoad
        iterator it(self, iterator::End, 0);
        it.advance(start, m_mask + 1);
        return it;
    }

    /*!
        Starts loading the slot where a lookup of \a hash begins into the cache. Needs no lock:
        it reads a copy of the slot array's address that may be out of date, which is harmless
        because a prefetch never faults. Call it before taking the lock, so that the cache
        miss a big table costs overlaps with the wait for the lock.
    */
    void prefetch(size_t hash) const noexcept
    {
        const std::uintptr_t slots = m_slotsHint.load(std::memory_order_relaxed);
        if (!slots)
            return;
        const size_t pos = quint32(hash) & m_maskHint.load(std::memory_order_relaxed);
#if defined(__GNUC__)
        __builtin_prefetch(reinterpret_cast<const void *>(slots + pos * sizeof(Slot)));
#else
        Q_UNUSED(pos);
#endif
    }

    iterator find(const QString &name) const
    {
        return find(name, hashName(name));
    }
    iterator find(const QString &name, size_t hash) const
    {
        if (m_count == 0)
            return end();
        const quint32 tag = quint32(hash);
        for (size_t pos = tag & m_mask;; pos = (pos + 1) & m_mask) {
            const Slot slot = m_slots[pos];
            if (slot.index == NoIndex)
                return end();
            if (slot.tag == tag && node(slot.index).first == name)
                return iterator(const_cast<NameTable *>(this), pos, 0);
        }
    }
    //! The element with node index \a index, whose name hashed to \a hash; end() if none.
    iterator find(quint32 index, size_t hash) const
    {
        if (m_count == 0)
            return end();
        const quint32 tag = quint32(hash);
        for (size_t pos = tag & m_mask;; pos = (pos + 1) & m_mask) {
            const Slot slot = m_slots[pos];
            if (slot.index == NoIndex)
                return end();
            if (slot.index == index)
                return iterator(const_cast<NameTable *>(this), pos, 0);
        }
    }

    std::pair<iterator, bool> try_emplace(const QString &name)
    {
        return try_emplace(name, hashName(name));
    }
    std::pair<iterator, bool> try_emplace(const QString &name, size_t hash)
    {
        const iterator found = find(name, hash);
        if (found != end())
            return {found, false};
        if ((m_count + 1) * MaxLoadDen > (m_mask + 1) * MaxLoadNum)
            grow();
        const quint32 index = allocateNode();
        value_type *place = &node(index);
        place->~value_type(); // a free node is default-constructed
        ::new (static_cast<void *>(place)) value_type(
                std::piecewise_construct, std::forward_as_tuple(name), std::forward_as_tuple());
        const quint32 tag = quint32(hash);
        size_t pos = tag & m_mask;
        while (m_slots[pos].index != NoIndex)
            pos = (pos + 1) & m_mask;
        m_slots[pos] = Slot{tag, index};
        ++m_count;
        return {iterator(this, pos, 0), true};
    }

    //! Removes the element at \a it; returns the element an iteration visits next.
    iterator erase(iterator it)
    {
        const size_t pos = it.m_pos;
        const size_t left = it.m_left;
        const quint32 index = m_slots[pos].index;
        value_type *place = &node(index);
        place->~value_type();
        ::new (static_cast<void *>(place)) value_type(); // erased nodes stay readable
        m_free.push_back(index);
        --m_count;
        if (m_count == 0 && m_mask + 1 > KeepCapacity) {
            release();
            return end();
        }
        // Backward shift: pull later elements of the cluster into the hole.
        size_t hole = pos;
        for (size_t q = (pos + 1) & m_mask;; q = (q + 1) & m_mask) {
            const Slot slot = m_slots[q];
            if (slot.index == NoIndex)
                break;
            const size_t home = slot.tag & m_mask;
            if (((q - home) & m_mask) >= ((q - hole) & m_mask)) {
                m_slots[hole] = slot;
                hole = q;
            }
        }
        m_slots[hole] = Slot{0, NoIndex};
        iterator next(this, pos, left);
        if (m_slots[pos].index == NoIndex)
            next.advance(pos, left);
        return next;
    }

    void clear()
    {
        m_count = 0;
        release();
    }

private:
    struct Slot
    {
        quint32 tag; // the low 32 bits of the hash; the home slot is tag & mask
        quint32 index; // NoIndex when empty
    };
    struct alignas(value_type) NodeStorage
    {
        unsigned char bytes[sizeof(value_type)];
    };

    static constexpr unsigned FirstChunkBits = 8; // chunk k holds 256 << k nodes
    static constexpr size_t MaxLoadNum = 4; // grow above 4/5 full
    static constexpr size_t MaxLoadDen = 5;
    static constexpr size_t InitialCapacity = 16;
    static constexpr size_t KeepCapacity = 1024; // storage kept when the table empties

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

    void grow()
    {
        const size_t capacity = m_slots ? (m_mask + 1) * 2 : InitialCapacity;
        std::unique_ptr<Slot[]> old = std::move(m_slots);
        const size_t oldCapacity = old ? m_mask + 1 : 0;
        m_slots.reset(new Slot[capacity]);
        m_mask = capacity - 1;
        publishSlots();
        for (size_t pos = 0; pos < capacity; ++pos)
            m_slots[pos] = Slot{0, NoIndex};
        for (size_t pos = 0; pos < oldCapacity; ++pos) {
            const Slot slot = old[pos];
            if (slot.index == NoIndex)
                continue;
            size_t to = slot.tag & m_mask;
            while (m_slots[to].index != NoIndex)
                to = (to + 1) & m_mask;
            m_slots[to] = slot;
        }
    }

    // Drops all storage; only with no live element (m_count == 0).
    void release()
    {
        for (quint32 index = 0; index < m_nodes; ++index)
            node(index).~value_type();
        m_slots.reset();
        m_mask = 0;
        publishSlots();
        m_count = 0;
        m_chunks.clear();
        m_chunks.shrink_to_fit();
        m_free.clear();
        m_free.shrink_to_fit();
        m_nodes = 0;
    }

    void publishSlots() noexcept
    {
        m_slotsHint.store(reinterpret_cast<std::uintptr_t>(m_slots.get()),
                          std::memory_order_relaxed);
        m_maskHint.store(m_mask, std::memory_order_relaxed);
    }

    std::unique_ptr<Slot[]> m_slots;
    size_t m_mask = 0; // capacity - 1; the capacity is a power of two
    size_t m_count = 0;
    std::vector<std::unique_ptr<NodeStorage[]>> m_chunks;
    std::vector<quint32> m_free;
    quint32 m_nodes = 0; // nodes ever allocated in m_chunks
    // prefetch()'s copies of m_slots and m_mask, which it reads without the lock
    std::atomic<std::uintptr_t> m_slotsHint{0};
    std::atomic<size_t> m_maskHint{0};
};

} // namespace goroutinemap
