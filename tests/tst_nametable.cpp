// SPDX-License-Identifier: Apache-2.0
// White-box tests of the map's per-shard name table (lib/src/nametable_p.h): the young and old
// slot arrays, promotion, the old array's filter, stable node indices and iteration.

#include "nametable_p.h"

#include <QTest>

#include <random>
#include <set>
#include <unordered_map>

using namespace goroutinemap;

namespace {

using Table = NameTable<int>;

QString nameOf(int i)
{
    return QStringLiteral("pvc-%1").arg(i);
}

// More names than the young array holds, so that some are promoted to the old one.
constexpr int BeyondYoung = int(Table::YoungCapacity) * 3;

// Every element of \a table, by name, as an iteration visits them; fails on a repeat.
std::unordered_map<QString, int> contents(const Table &table)
{
    std::unordered_map<QString, int> seen;
    for (auto it = table.begin(); it != table.end(); ++it) {
        const bool added = seen.emplace(it->first, it->second).second;
        if (!added)
            qWarning("visited twice: %s", qPrintable(it->first));
    }
    return seen;
}

} // namespace

class tst_NameTable : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void agreesWithAReferenceMap_data();
    void agreesWithAReferenceMap();
    void promotionKeepsNodeIndices();
    void iterationErasingVisitsEachElementOnce_data();
    void iterationErasingVisitsEachElementOnce();
    void erasingMostOldNamesKeepsTheRestFindable();
    void emptyingTheTableReleasesItsStorage_data();
    void emptyingTheTableReleasesItsStorage();
    void oldArrayEmptiedUnderAnIteration();
    void betweenRunsWhenTheNameIsNotYoung();
};

void tst_NameTable::agreesWithAReferenceMap_data()
{
    QTest::addColumn<int>("names");
    QTest::addColumn<int>("steps");
    QTest::addColumn<int>("seed");
    QTest::newRow("young only") << 200 << 20'000 << 1;
    QTest::newRow("young and old") << BeyondYoung << 100'000 << 2;
    QTest::newRow("many old, churning") << BeyondYoung * 4 << 200'000 << 3;
}

// Random inserts, erases and lookups, each checked against std::unordered_map.
void tst_NameTable::agreesWithAReferenceMap()
{
    QFETCH(int, names);
    QFETCH(int, steps);
    QFETCH(int, seed);
    Table table;
    std::unordered_map<QString, int> reference;
    std::unordered_map<QString, quint32> indices;
    std::mt19937 random{quint32(seed)};
    std::uniform_int_distribution<int> pick(0, names - 1);
    std::uniform_int_distribution<int> action(0, 9);
    bool sawOld = false;
    for (int step = 0; step < steps; ++step) {
        const QString name = nameOf(pick(random));
        const size_t hash = Table::hashName(name);
        const int what = action(random);
        if (what < 5) { // insert (or find the existing element)
            auto [it, inserted] = table.try_emplace(name, hash);
            QCOMPARE(inserted, reference.count(name) == 0);
            QCOMPARE(it->first, name);
            if (inserted) {
                it->second = step;
                reference.emplace(name, step);
                indices[name] = it.index();
            } else {
                QCOMPARE(it->second, reference.at(name));
                QCOMPARE(it.index(), indices.at(name)); // a node never moves
            }
        } else if (what < 8) { // erase
            const auto it = table.find(name, hash);
            QCOMPARE(it != table.end(), reference.count(name) == 1);
            if (it != table.end()) {
                table.erase(it);
                reference.erase(name);
            }
        } else { // look up by node index
            const auto known = indices.find(name);
            if (known != indices.end()) {
                const auto it = table.find(known->second, hash);
                QCOMPARE(it != table.end(), reference.count(name) == 1);
                if (it != table.end())
                    QCOMPARE(it->first, name);
            }
        }
        QCOMPARE(table.size(), reference.size());
        sawOld = sawOld || table.oldSize() > 0;
    }
    QCOMPARE(sawOld, names > int(Table::YoungCapacity));
    QCOMPARE(contents(table), reference);
}

void tst_NameTable::promotionKeepsNodeIndices()
{
    Table table;
    std::vector<quint32> indices;
    for (int i = 0; i < BeyondYoung; ++i) {
        auto [it, inserted] = table.try_emplace(nameOf(i));
        QVERIFY(inserted);
        it->second = i;
        indices.push_back(it.index());
    }
    QVERIFY(table.oldSize() > 0);
    QVERIFY(table.oldSize() < table.size()); // the latest names are still young
    for (int i = 0; i < BeyondYoung; ++i) {
        const QString name = nameOf(i);
        const auto it = table.find(indices[size_t(i)], Table::hashName(name));
        QVERIFY(it != table.end());
        QCOMPARE(it->first, name);
        QCOMPARE(it->second, i);
        QCOMPARE(table.nodeAt(indices[size_t(i)])->first, name);
        QCOMPARE(table.find(name)->second, i);
    }
}

void tst_NameTable::iterationErasingVisitsEachElementOnce_data()
{
    QTest::addColumn<int>("names");
    QTest::addColumn<int>("keepEvery"); // 1 keeps all, 0 erases all
    QTest::newRow("young, erase half") << 300 << 2;
    QTest::newRow("young and old, erase half") << BeyondYoung << 2;
    QTest::newRow("young and old, keep a third") << BeyondYoung << 3;
    QTest::newRow("young and old, erase all") << BeyondYoung << 0;
    QTest::newRow("young and old, keep all") << BeyondYoung << 1;
}

void tst_NameTable::iterationErasingVisitsEachElementOnce()
{
    QFETCH(int, names);
    QFETCH(int, keepEvery);
    Table table;
    for (int i = 0; i < names; ++i)
        table.try_emplace(nameOf(i)).first->second = i;
    std::set<int> visited;
    std::set<int> kept;
    for (auto it = table.begin(); it != table.end();) {
        const int value = it->second;
        QVERIFY2(visited.insert(value).second, "an element was visited twice");
        if (keepEvery != 0 && value % keepEvery == 0) {
            kept.insert(value);
            ++it;
        } else {
            it = table.erase(it);
        }
    }
    QCOMPARE(int(visited.size()), names);
    QCOMPARE(table.size(), kept.size());
    for (int i = 0; i < names; ++i)
        QCOMPARE(table.find(nameOf(i)) != table.end(), kept.count(i) == 1);
}

// Erasures from the old array leave stale bits in its filter until it is rebuilt; neither
// may hide a name that is still there.
void tst_NameTable::erasingMostOldNamesKeepsTheRestFindable()
{
    Table table;
    const int names = BeyondYoung * 8;
    for (int i = 0; i < names; ++i)
        table.try_emplace(nameOf(i)).first->second = i;
    QVERIFY(table.oldSize() > size_t(names) / 2);
    for (int i = 0; i < names; ++i) {
        if (i % 10 == 0)
            continue;
        const auto it = table.find(nameOf(i));
        QVERIFY(it != table.end());
        table.erase(it);
    }
    QCOMPARE(table.size(), size_t((names + 9) / 10));
    for (int i = 0; i < names; ++i) {
        const auto it = table.find(nameOf(i));
        QCOMPARE(it != table.end(), i % 10 == 0);
        if (it != table.end())
            QCOMPARE(it->second, i);
    }
    // New names still go to the young array and are found there.
    for (int i = names; i < names + 100; ++i)
        QVERIFY(table.try_emplace(nameOf(i)).second);
    QCOMPARE(table.size(), size_t((names + 9) / 10 + 100));
}

void tst_NameTable::emptyingTheTableReleasesItsStorage_data()
{
    QTest::addColumn<QString>("order");
    QTest::newRow("old names first") << QStringLiteral("old first");
    QTest::newRow("young names first") << QStringLiteral("young first");
    QTest::newRow("as an iteration visits them") << QStringLiteral("iteration");
}

// Whichever array empties first, a table that held many names hands its storage back when
// the last one goes.
void tst_NameTable::emptyingTheTableReleasesItsStorage()
{
    QFETCH(QString, order);
    Table table;
    // A few names past a promotion: the young array is small again when the table empties.
    const int names = int(Table::YoungCapacity) * 4 / 5 * 8 + 10;
    for (int i = 0; i < names; ++i)
        table.try_emplace(nameOf(i));
    const int young = int(table.size() - table.oldSize());
    QVERIFY(young > 0 && young < 100);
    QCOMPARE(table.nodeCount(), quint32(names));
    const auto eraseRange = [&table](int from, int to) {
        for (int i = from; i < to; ++i) {
            const auto it = table.find(nameOf(i));
            QVERIFY(it != table.end());
            table.erase(it);
        }
    };
    if (order == QLatin1String("old first")) {
        eraseRange(0, names - young); // promoted before the last ones came
        QCOMPARE(table.oldSize(), size_t(0));
        QCOMPARE(table.size(), size_t(young));
        eraseRange(names - young, names);
    } else if (order == QLatin1String("young first")) {
        eraseRange(names - young, names);
        QCOMPARE(table.size(), table.oldSize());
        eraseRange(0, names - young);
    } else {
        for (auto it = table.begin(); it != table.end();)
            it = table.erase(it);
    }
    QVERIFY(table.empty());
    QCOMPARE(table.nodeCount(), quint32(0));
    QCOMPARE(table.oldSize(), size_t(0));
    QVERIFY(table.begin() == table.end());
    QVERIFY(table.try_emplace(nameOf(1)).second); // and works again
    QCOMPARE(table.size(), size_t(1));
}

// Erasing every old name while iterating, with young names left: the old array is released
// under the iteration, which must still end, having visited each name once.
void tst_NameTable::oldArrayEmptiedUnderAnIteration()
{
    Table table;
    const int names = int(Table::YoungCapacity) * 4 / 5 * 2 + 50;
    for (int i = 0; i < names; ++i)
        table.try_emplace(nameOf(i)).first->second = i;
    const int young = int(table.size() - table.oldSize());
    QVERIFY(young > 0 && table.oldSize() > 0);
    std::set<int> visited;
    for (auto it = table.begin(); it != table.end();) {
        QVERIFY(visited.insert(it->second).second);
        if (it->second < names - young)
            it = table.erase(it); // an old name
        else
            ++it;
    }
    QCOMPARE(int(visited.size()), names);
    QCOMPARE(table.oldSize(), size_t(0));
    QCOMPARE(table.size(), size_t(young));
    for (int i = names - young; i < names; ++i)
        QVERIFY(table.find(nameOf(i)) != table.end());
}

// find()'s and try_emplace()'s \a between runs once, before the old array's filter, for a
// name the young array does not hold; not for one it does, nor without an old array.
void tst_NameTable::betweenRunsWhenTheNameIsNotYoung()
{
    Table table;
    int calls = 0;
    const auto count = [&calls] { ++calls; };
    QVERIFY(table.try_emplace(nameOf(-1), Table::hashName(nameOf(-1)), count).second);
    QCOMPARE(calls, 0); // no old array: no filter to wait for
    const int names = int(Table::YoungCapacity) * 4 / 5 + 10; // one promotion
    for (int i = 0; i < names; ++i)
        table.try_emplace(nameOf(i));
    const int young = int(table.size() - table.oldSize());
    QVERIFY(young > 0 && table.oldSize() > 0);
    QVERIFY(table.find(nameOf(names - 1), Table::hashName(nameOf(names - 1)), count)
            != table.end());
    QCOMPARE(calls, 0); // young
    QVERIFY(table.find(nameOf(0), Table::hashName(nameOf(0)), count) != table.end());
    QCOMPARE(calls, 1); // old
    QVERIFY(table.try_emplace(nameOf(names), Table::hashName(nameOf(names)), count).second);
    QCOMPARE(calls, 2); // new
    QVERIFY(!table.try_emplace(nameOf(names), Table::hashName(nameOf(names)), count).second);
    QCOMPARE(calls, 2); // young now
}

QTEST_APPLESS_MAIN(tst_NameTable)
#include "tst_nametable.moc"
