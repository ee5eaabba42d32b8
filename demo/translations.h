// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QString>

namespace goroutinemap::demo {

/*!
    Installs the translators of the demo: ours (demo and library strings, embedded from
    translations/goroutinemap_<lang>.qm under ":/i18n") and Qt's own for standard
    dialogs. Call from the GUI thread after QCoreApplication exists and before any
    window or library message is made; installing again replaces the previous ones.
*/
namespace translations {

/*!
    Installs the translation for \a language ("de", "de_DE", …), or for the system's
    UI languages when empty. A forced language also becomes QLocale's default, so
    numbers and dates follow it. Returns false when a non-English \a language has no
    translation of ours (the demo then stays English).
*/
bool install(const QString &language = QString());
//! Removes what install() installed.
void uninstall();
//! The language of the translation in use, "en" when none.
QString currentLanguage();

} // namespace translations
} // namespace goroutinemap::demo
