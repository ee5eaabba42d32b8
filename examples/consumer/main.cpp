// SPDX-License-Identifier: Apache-2.0
// Runs one operation through GoRoutineMap and exits with 0 when it finished.
#include <goroutinemap/goroutinemap.h>
#include <goroutinemap/version.h>

#include <QCoreApplication>
#include <QDebug>

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    goroutinemap::GoRoutineMap map(/* exponentialBackOffOnError */ true);
    QObject::connect(&map, &goroutinemap::GoRoutineMap::operationFinished, &app,
                     [](const QString &name) {
                         qInfo() << "finished:" << name << "with GoRoutineMap"
                                 << GOROUTINEMAP_VERSION_STRING;
                         QCoreApplication::exit(0);
                     });
    if (map.run(QStringLiteral("hello"), [] { return goroutinemap::Error(); }))
        return 1; // refused: cannot happen on a new map
    return app.exec();
}
