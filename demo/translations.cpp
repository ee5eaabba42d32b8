// SPDX-License-Identifier: Apache-2.0
#include "translations.h"

#include <QCoreApplication>
#include <QLibraryInfo>
#include <QLocale>
#include <QTranslator>

#include <memory>

namespace goroutinemap::demo::translations {

namespace {
struct Installed
{
    std::unique_ptr<QTranslator> ours;
    std::unique_ptr<QTranslator> qt;
    QString language = QStringLiteral("en");
    bool localeForced = false;
};

Installed &installed()
{
    static Installed state;
    return state;
}
} // namespace

bool install(const QString &language)
{
    uninstall();
    Installed &state = installed();
    QLocale locale = QLocale::system();
    if (!language.isEmpty()) {
        locale = QLocale(language);
        QLocale::setDefault(locale);
        state.localeForced = true;
    }

    // QTranslator::load(QLocale, …) tries each of the locale's UI languages in turn
    // ("de-DE", "de", …), so "de_AT" finds goroutinemap_de.qm too.
    auto ours = std::make_unique<QTranslator>();
    const bool loaded = ours->load(locale, QStringLiteral("goroutinemap"), QStringLiteral("_"),
                                   QStringLiteral(":/i18n"));
    if (loaded) {
        QCoreApplication::installTranslator(ours.get());
        state.language = ours->language();
        state.ours = std::move(ours);

        auto qt = std::make_unique<QTranslator>();
        if (qt->load(locale, QStringLiteral("qtbase"), QStringLiteral("_"),
                     QLibraryInfo::path(QLibraryInfo::TranslationsPath))) {
            QCoreApplication::installTranslator(qt.get());
            state.qt = std::move(qt);
        }
    }
    return loaded || locale.language() == QLocale::English || locale.language() == QLocale::C;
}

void uninstall()
{
    Installed &state = installed();
    if (state.ours)
        QCoreApplication::removeTranslator(state.ours.get());
    if (state.qt)
        QCoreApplication::removeTranslator(state.qt.get());
    state.ours.reset();
    state.qt.reset();
    state.language = QStringLiteral("en");
    if (state.localeForced) {
        QLocale::setDefault(QLocale::system());
        state.localeForced = false;
    }
}

QString currentLanguage()
{
    return installed().language;
}

} // namespace goroutinemap::demo::translations
