<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de">
<context>
    <name>CommandLine</name>
    <message>
        <source>Invalid value for --%1: %2</source>
        <translation>Ungültiger Wert für --%1: %2</translation>
    </message>
    <message>
        <source>No translation for language &quot;%1&quot;; using English.</source>
        <translation>Keine Übersetzung für die Sprache &quot;%1&quot;; die Anwendung bleibt englisch.</translation>
    </message>
    <message>
        <source>GoRoutineMap Demo</source>
        <translation>GoRoutineMap-Demo</translation>
    </message>
    <message>
        <source>Shows a GoRoutineMap at work: operations run by name on a thread pool, never two of one name at once; failed names back off exponentially.
Without arguments it runs a simulation and hashes %1.
Without a display it renders offscreen, prints every event and quits when the work is done.</source>
        <translation>Zeigt eine GoRoutineMap bei der Arbeit: Operationen laufen nach Namen in einem Thread-Pool, nie zwei mit demselben Namen gleichzeitig; fehlgeschlagene Namen warten exponentiell länger (Backoff).
Ohne Argumente läuft eine Simulation und %1 wird gehasht.
Ohne Bildschirm wird offscreen gezeichnet, jedes Ereignis ausgegeben und nach getaner Arbeit beendet.</translation>
    </message>
    <message>
        <source>Hash every file under &lt;dir&gt; (SHA-256) and re-hash changed files. May be given more than once.</source>
        <translation>Jede Datei unter &lt;dir&gt; hashen (SHA-256) und geänderte Dateien erneut hashen. Mehrfach angebbar.</translation>
    </message>
    <message>
        <source>dir</source>
        <translation>dir</translation>
    </message>
    <message>
        <source>Run &lt;n&gt; simulated operations over a few names, some failing.</source>
        <translation>&lt;n&gt; simulierte Operationen über wenige Namen ausführen, einige davon fehlschlagend.</translation>
    </message>
    <message>
        <source>n</source>
        <translation>n</translation>
    </message>
    <message>
        <source>Start with exponential backoff off.</source>
        <translation>Mit ausgeschaltetem exponentiellem Backoff starten.</translation>
    </message>
    <message>
        <source>Use the translation for &lt;code&gt; (e.g. de) instead of the system&apos;s.</source>
        <translation>Die Übersetzung für &lt;code&gt; (z. B. de) statt der des Systems verwenden.</translation>
    </message>
    <message>
        <source>code</source>
        <translation>code</translation>
    </message>
    <message>
        <source>Print every event as one JSON object per line on standard output.</source>
        <translation>Jedes Ereignis als ein JSON-Objekt pro Zeile auf der Standardausgabe ausgeben.</translation>
    </message>
    <message>
        <source>Save a PNG of the main window to &lt;file&gt;, then quit.</source>
        <translation>Ein PNG des Hauptfensters in &lt;file&gt; speichern und dann beenden.</translation>
    </message>
    <message>
        <source>file</source>
        <translation>file</translation>
    </message>
    <message>
        <source>Take the screenshot after &lt;ms&gt; milliseconds (default 2500).</source>
        <translation>Das Bildschirmfoto nach &lt;ms&gt; Millisekunden aufnehmen (Vorgabe 2500).</translation>
    </message>
    <message>
        <source>ms</source>
        <translation>ms</translation>
    </message>
    <message>
        <source>Quit after &lt;ms&gt; milliseconds.</source>
        <translation>Nach &lt;ms&gt; Millisekunden beenden.</translation>
    </message>
    <message>
        <source>Measure the longest event-loop stall (10 ms timer) and memory; print them at exit.</source>
        <translation>Die längste Blockade der Ereignisschleife (10-ms-Timer) und den Speicher messen; beim Beenden ausgeben.</translation>
    </message>
    <message>
        <source>Hash at most &lt;n&gt; files at once, the rest wait (0: all at once; default 16).</source>
        <translation>Höchstens &lt;n&gt; Dateien gleichzeitig hashen, der Rest wartet (0: alle auf einmal; Vorgabe 16).</translation>
    </message>
    <message>
        <source>Retry a file that failed &lt;n&gt; times, each when its backoff ends (default 3).</source>
        <translation>Eine fehlgeschlagene Datei &lt;n&gt;-mal wiederholen, jeweils wenn ihr Backoff endet (Vorgabe 3).</translation>
    </message>
    <message>
        <source>Run at most &lt;n&gt; operations at once.</source>
        <translation>Höchstens &lt;n&gt; Operationen gleichzeitig ausführen.</translation>
    </message>
    <message>
        <source>Run the simulation even when --watch or --burst is given.</source>
        <translation>Die Simulation auch mit --watch oder --burst ausführen.</translation>
    </message>
    <message>
        <source>Quit once the work given is done (the default without a display).</source>
        <translation>Beenden, sobald die gegebene Arbeit erledigt ist (Vorgabe ohne Bildschirm).</translation>
    </message>
    <message>
        <source>Hash the folders once; do not watch them for changes.</source>
        <translation>Die Ordner einmal hashen; nicht auf Änderungen überwachen.</translation>
    </message>
    <message>
        <source>Seed the simulation&apos;s random numbers.</source>
        <translation>Startwert für die Zufallszahlen der Simulation.</translation>
    </message>
    <message>
        <source>Not a folder: %1</source>
        <translation>Kein Ordner: %1</translation>
    </message>
    <message>
        <source>Could not save the screenshot to %1</source>
        <translation>Das Bildschirmfoto konnte nicht in %1 gespeichert werden</translation>
    </message>
    <message>
        <source>time limit reached</source>
        <translation>Zeitlimit erreicht</translation>
    </message>
</context>
<context>
    <name>goroutinemap::BackoffPolicy</name>
    <message>
        <source>The initial delay must not be negative.</source>
        <translation>Die Anfangsverzögerung darf nicht negativ sein.</translation>
    </message>
    <message>
        <source>The maximum delay must not be negative.</source>
        <translation>Die maximale Verzögerung darf nicht negativ sein.</translation>
    </message>
    <message>
        <source>The initial delay (%1) must not exceed the maximum delay (%2).</source>
        <translation>Die Anfangsverzögerung (%1) darf die maximale Verzögerung (%2) nicht überschreiten.</translation>
    </message>
    <message>
        <source>The multiplier must be a finite number of at least 1, not %1.</source>
        <translation>Der Faktor muss eine endliche Zahl von mindestens 1 sein, nicht %1.</translation>
    </message>
    <message>
        <source>The jitter must be between 0 and 1, not %1.</source>
        <translation>Der Jitter muss zwischen 0 und 1 liegen, nicht %1.</translation>
    </message>
    <message>
        <source>The reset-after time must not be negative.</source>
        <translation>Die Zeit bis zum Vergessen darf nicht negativ sein.</translation>
    </message>
</context>
<context>
    <name>goroutinemap::Duration</name>
    <message>
        <source>%1 ms</source>
        <translation>%1 ms</translation>
    </message>
    <message>
        <source>%1 s</source>
        <translation>%1 s</translation>
    </message>
    <message>
        <source>%1 min</source>
        <translation>%1 min</translation>
    </message>
    <message>
        <source>%1 min %2 s</source>
        <translation>%1 min %2 s</translation>
    </message>
</context>
<context>
    <name>goroutinemap::Error</name>
    <message>
        <source>Failed to create operation with name &quot;%1&quot;. An operation with that name is already executing.</source>
        <translation>Die Operation mit dem Namen &quot;%1&quot; konnte nicht angelegt werden. Eine Operation mit diesem Namen wird bereits ausgeführt.</translation>
    </message>
    <message>
        <source>Failed to create operation with name &quot;%1&quot;. An operation with that name failed at %2. No retries permitted until %3 (%4). Last error: &quot;%5&quot;.</source>
        <translation>Die Operation mit dem Namen &quot;%1&quot; konnte nicht angelegt werden. Eine Operation mit diesem Namen ist um %2 fehlgeschlagen. Keine Wiederholung erlaubt bis %3 (%4). Letzter Fehler: &quot;%5&quot;.</translation>
    </message>
    <message>
        <source>Operation for &quot;%1&quot; failed: %2</source>
        <translation>Die Operation &quot;%1&quot; ist fehlgeschlagen: %2</translation>
    </message>
    <message>
        <source>Invalid argument for operation &quot;%1&quot;: %2</source>
        <translation>Ungültiges Argument für die Operation &quot;%1&quot;: %2</translation>
    </message>
    <message>
        <source>Operation for &quot;%1&quot; was canceled.</source>
        <translation>Die Operation &quot;%1&quot; wurde abgebrochen.</translation>
    </message>
</context>
<context>
    <name>goroutinemap::ExponentialBackoff</name>
    <message>
        <source>Operation for &quot;%1&quot; failed. No retries permitted until %2 (durationBeforeRetry %3). Error: %4</source>
        <translation>Die Operation &quot;%1&quot; ist fehlgeschlagen. Keine Wiederholung erlaubt bis %2 (durationBeforeRetry %3). Fehler: %4</translation>
    </message>
</context>
<context>
    <name>goroutinemap::GoRoutineMap</name>
    <message>
        <source>the operation function is null</source>
        <translation>die Operationsfunktion ist leer</translation>
    </message>
    <message>
        <source>the operation threw an exception: %1</source>
        <translation>die Operation hat eine Ausnahme geworfen: %1</translation>
    </message>
    <message>
        <source>the operation threw an exception that is not a std::exception</source>
        <translation>die Operation hat eine Ausnahme geworfen, die keine std::exception ist</translation>
    </message>
    <message>
        <source>the map is being destroyed</source>
        <translation>die Map wird gerade zerstört</translation>
    </message>
</context>
<context>
    <name>goroutinemap::OperationsModel</name>
    <message>
        <source>%1 s</source>
        <translation>%1 s</translation>
    </message>
    <message>
        <source>%1 min %2 s</source>
        <translation>%1 min %2 s</translation>
    </message>
    <message>
        <source>%1 h %2 min</source>
        <translation>%1 h %2 min</translation>
    </message>
    <message>
        <source>Queued</source>
        <translation>Wartend</translation>
    </message>
    <message>
        <source>Running</source>
        <translation>Läuft</translation>
    </message>
    <message>
        <source>Backing off</source>
        <translation>Backoff</translation>
    </message>
    <message>
        <source>Ready to retry</source>
        <translation>Bereit zur Wiederholung</translation>
    </message>
    <message>
        <source>%1, cancellation requested</source>
        <translation>%1, Abbruch angefordert</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>Name</translation>
    </message>
    <message>
        <source>State</source>
        <translation>Zustand</translation>
    </message>
    <message>
        <source>Time</source>
        <translation>Zeit</translation>
    </message>
    <message>
        <source>Failures</source>
        <translation>Fehlschläge</translation>
    </message>
    <message>
        <source>Last error</source>
        <translation>Letzter Fehler</translation>
    </message>
    <message>
        <source>The operation&apos;s name</source>
        <translation>Der Name der Operation</translation>
    </message>
    <message>
        <source>Queued: waiting for a thread; Running: executing; Backing off: failed, retries refused for a while</source>
        <translation>Wartend: wartet auf einen Thread; Läuft: wird ausgeführt; Backoff: fehlgeschlagen, Wiederholungen eine Weile abgewiesen</translation>
    </message>
    <message>
        <source>How long a running operation has run, or how long until a failed one may be retried</source>
        <translation>Wie lange eine laufende Operation schon läuft oder wie lange es dauert, bis eine fehlgeschlagene wiederholt werden darf</translation>
    </message>
    <message>
        <source>Consecutive failures</source>
        <translation>Fehlschläge in Folge</translation>
    </message>
    <message>
        <source>What the last failure said</source>
        <translation>Was der letzte Fehlschlag meldete</translation>
    </message>
</context>
<context>
    <name>goroutinemap::demo::BackoffPolicyDialog</name>
    <message>
        <source>Backoff Policy</source>
        <translation>Backoff-Richtlinie</translation>
    </message>
    <message>
        <source>never</source>
        <translation>nie</translation>
    </message>
    <message>
        <source>The window after the first failure.</source>
        <translation>Die Wartezeit nach dem ersten Fehlschlag.</translation>
    </message>
    <message>
        <source>Each further failure multiplies the window by this.</source>
        <translation>Jeder weitere Fehlschlag vervielfacht die Wartezeit um diesen Faktor.</translation>
    </message>
    <message>
        <source>The window never grows beyond this.</source>
        <translation>Länger wird die Wartezeit nie.</translation>
    </message>
    <message>
        <source>A random fraction of the window added to it, from 0 to 1.</source>
        <translation>Ein zufälliger Anteil der Wartezeit, der ihr hinzugefügt wird, von 0 bis 1.</translation>
    </message>
    <message>
        <source>A failed name that stayed quiet this long after its window ended is forgotten.</source>
        <translation>Ein fehlgeschlagener Name, der nach dem Ende seiner Wartezeit so lange ruhig blieb, wird vergessen.</translation>
    </message>
    <message>
        <source>&amp;Initial delay:</source>
        <translation>&amp;Anfangsverzögerung:</translation>
    </message>
    <message>
        <source>&amp;Multiplier:</source>
        <translation>&amp;Faktor:</translation>
    </message>
    <message>
        <source>Ma&amp;ximum delay:</source>
        <translation>Ma&amp;ximale Verzögerung:</translation>
    </message>
    <message>
        <source>&amp;Jitter:</source>
        <translation>&amp;Jitter:</translation>
    </message>
    <message>
        <source>&amp;Forget history after:</source>
        <translation>&amp;Verlauf vergessen nach:</translation>
    </message>
    <message>
        <source>Delays:</source>
        <translation>Verzögerungen:</translation>
    </message>
    <message>
        <source>at most %1</source>
        <translation>höchstens %1</translation>
    </message>
    <message>
        <source>(plus up to %1 % jitter)</source>
        <translation>(zuzüglich bis zu %1 % Jitter)</translation>
    </message>
</context>
<context>
    <name>goroutinemap::demo::BurstDialog</name>
    <message>
        <source>Burst</source>
        <translation>Schwall</translation>
    </message>
    <message>
        <source>&amp;Operations:</source>
        <translation>&amp;Operationen:</translation>
    </message>
    <message>
        <source>Distinct &amp;names:</source>
        <translation>Verschiedene &amp;Namen:</translation>
    </message>
    <message>
        <source>&amp;Failure rate:</source>
        <translation>&amp;Fehlerquote:</translation>
    </message>
    <message>
        <source>S&amp;hortest duration:</source>
        <translation>&amp;Kürzeste Dauer:</translation>
    </message>
    <message>
        <source>&amp;Longest duration:</source>
        <translation>&amp;Längste Dauer:</translation>
    </message>
    <message>
        <source>&amp;Spread over:</source>
        <translation>&amp;Verteilt über:</translation>
    </message>
</context>
<context>
    <name>goroutinemap::demo::EventLog</name>
    <message>
        <source>queued</source>
        <translation>eingereiht</translation>
    </message>
    <message>
        <source>started</source>
        <translation>gestartet</translation>
    </message>
    <message>
        <source>finished</source>
        <translation>beendet</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>fehlgeschlagen</translation>
    </message>
    <message>
        <source>canceled</source>
        <translation>abgebrochen</translation>
    </message>
    <message>
        <source>refused</source>
        <translation>abgewiesen</translation>
    </message>
    <message>
        <source>backoff expired</source>
        <translation>Backoff abgelaufen</translation>
    </message>
    <message>
        <source>removed</source>
        <translation>entfernt</translation>
    </message>
    <message>
        <source>note</source>
        <translation>Hinweis</translation>
    </message>
    <message>
        <source>(failure %1, no retry for %2)</source>
        <translation>(Fehlschlag %1, keine Wiederholung für %2)</translation>
    </message>
</context>
<context>
    <name>goroutinemap::demo::EventLogDock</name>
    <message>
        <source>Event log</source>
        <translation>Ereignisprotokoll</translation>
    </message>
</context>
<context>
    <name>goroutinemap::demo::EventLogModel</name>
    <message>
        <source>Time</source>
        <translation>Zeit</translation>
    </message>
    <message>
        <source>Event</source>
        <translation>Ereignis</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>Name</translation>
    </message>
    <message>
        <source>Details</source>
        <translation>Details</translation>
    </message>
</context>
<context>
    <name>goroutinemap::demo::FolderHasher</name>
    <message numerus="yes">
        <source>scanned %n file(s)</source>
        <translation>
            <numerusform>%n Datei durchsucht</numerusform>
            <numerusform>%n Dateien durchsucht</numerusform>
        </translation>
    </message>
    <message>
        <source>file removed</source>
        <translation>Datei entfernt</translation>
    </message>
    <message>
        <source>not a regular file</source>
        <translation>keine reguläre Datei</translation>
    </message>
    <message>
        <source>cannot open: %1</source>
        <translation>kann nicht geöffnet werden: %1</translation>
    </message>
    <message>
        <source>canceled</source>
        <translation>abgebrochen</translation>
    </message>
    <message>
        <source>read error: %1</source>
        <translation>Lesefehler: %1</translation>
    </message>
</context>
<context>
    <name>goroutinemap::demo::MainWindow</name>
    <message>
        <source>About GoRoutineMap Demo</source>
        <translation>Über die GoRoutineMap-Demo</translation>
    </message>
    <message>
        <source>&lt;h3&gt;GoRoutineMap %1&lt;/h3&gt;&lt;p&gt;Runs background operations by name, never two of one name at once, and backs off names that fail: a Qt port of Kubernetes&apos; goroutinemap.&lt;/p&gt;&lt;p&gt;The table shows what waits for a thread, what runs and what backs off for how long; the log shows every start, finish, failure and refusal.&lt;/p&gt;</source>
        <translation>&lt;h3&gt;GoRoutineMap %1&lt;/h3&gt;&lt;p&gt;Führt Hintergrundoperationen nach Namen aus, nie zwei mit demselben Namen gleichzeitig, und lässt fehlgeschlagene Namen eine wachsende Zeit warten: eine Qt-Portierung von goroutinemap aus Kubernetes.&lt;/p&gt;&lt;p&gt;Die Tabelle zeigt, was auf einen Thread wartet, was läuft und was wie lange im Backoff ist; das Protokoll zeigt jeden Start, jedes Ende, jeden Fehlschlag und jede Abweisung.&lt;/p&gt;</translation>
    </message>
    <message>
        <source>GoRoutineMap Demo</source>
        <translation>GoRoutineMap-Demo</translation>
    </message>
    <message>
        <source>&amp;Run…</source>
        <translation>&amp;Ausführen …</translation>
    </message>
    <message>
        <source>Run one simulated operation: name, duration, outcome</source>
        <translation>Eine simulierte Operation ausführen: Name, Dauer, Ausgang</translation>
    </message>
    <message>
        <source>&amp;Burst…</source>
        <translation>&amp;Schwall …</translation>
    </message>
    <message>
        <source>Run many simulated operations over a few names, some failing</source>
        <translation>Viele simulierte Operationen über wenige Namen ausführen, einige davon fehlschlagend</translation>
    </message>
    <message>
        <source>&amp;Watch Folder…</source>
        <translation>Ordner &amp;überwachen …</translation>
    </message>
    <message>
        <source>Hash every file of a folder with SHA-256 and re-hash files that change</source>
        <translation>Jede Datei eines Ordners mit SHA-256 hashen und geänderte Dateien erneut hashen</translation>
    </message>
    <message>
        <source>Exponential &amp;Backoff</source>
        <translation>Exponentieller &amp;Backoff</translation>
    </message>
    <message>
        <source>Refuse failed names for a growing while (turning it off forgets every failure)</source>
        <translation>Fehlgeschlagene Namen eine wachsende Zeit lang abweisen (Ausschalten vergisst alle Fehlschläge)</translation>
    </message>
    <message>
        <source>Backoff &amp;Policy…</source>
        <translation>Backoff-&amp;Richtlinie …</translation>
    </message>
    <message>
        <source>Initial delay, multiplier, maximum, jitter</source>
        <translation>Anfangsverzögerung, Faktor, Maximum, Jitter</translation>
    </message>
    <message>
        <source>&amp;Cancel</source>
        <translation>A&amp;bbrechen</translation>
    </message>
    <message>
        <source>Cancel the selected operations</source>
        <translation>Die ausgewählten Operationen abbrechen</translation>
    </message>
    <message>
        <source>Cancel &amp;All</source>
        <translation>&amp;Alle abbrechen</translation>
    </message>
    <message>
        <source>Cancel every pending operation and stop submitting new ones</source>
        <translation>Alle anstehenden Operationen abbrechen und keine neuen mehr einreichen</translation>
    </message>
    <message>
        <source>C&amp;lear</source>
        <translation>&amp;Leeren</translation>
    </message>
    <message>
        <source>Forget failure histories and empty the event log</source>
        <translation>Fehlerverläufe vergessen und das Ereignisprotokoll leeren</translation>
    </message>
    <message>
        <source>Retry &amp;Now</source>
        <translation>&amp;Jetzt wiederholen</translation>
    </message>
    <message>
        <source>Forget the selected names&apos; failures so they may run again at once</source>
        <translation>Die Fehlschläge der ausgewählten Namen vergessen, damit sie sofort wieder laufen dürfen</translation>
    </message>
    <message>
        <source>&amp;Copy Name</source>
        <translation>Namen &amp;kopieren</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>&amp;Beenden</translation>
    </message>
    <message>
        <source>&amp;About GoRoutineMap Demo</source>
        <translation>&amp;Über die GoRoutineMap-Demo</translation>
    </message>
    <message>
        <source>About &amp;Qt</source>
        <translation>Über &amp;Qt</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>&amp;Datei</translation>
    </message>
    <message>
        <source>&amp;Operations</source>
        <translation>&amp;Operationen</translation>
    </message>
    <message>
        <source>&amp;Backoff</source>
        <translation>&amp;Backoff</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>&amp;Ansicht</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>&amp;Hilfe</translation>
    </message>
    <message>
        <source>Main Toolbar</source>
        <translation>Hauptwerkzeugleiste</translation>
    </message>
    <message>
        <source>Filter by name…</source>
        <translation>Nach Namen filtern …</translation>
    </message>
    <message>
        <source>Queued</source>
        <translation>Wartend</translation>
    </message>
    <message>
        <source>Accepted, waiting for a pool thread</source>
        <translation>Angenommen, wartet auf einen Pool-Thread</translation>
    </message>
    <message>
        <source>Running</source>
        <translation>Laufend</translation>
    </message>
    <message>
        <source>Executing on a pool thread</source>
        <translation>Wird in einem Pool-Thread ausgeführt</translation>
    </message>
    <message>
        <source>Backing off</source>
        <translation>Im Backoff</translation>
    </message>
    <message>
        <source>Failed; runs of the name are refused until its window ends</source>
        <translation>Fehlgeschlagen; Ausführungen des Namens werden bis zum Ende seiner Wartezeit abgewiesen</translation>
    </message>
    <message>
        <source>Finished</source>
        <translation>Beendet</translation>
    </message>
    <message>
        <source>Runs that succeeded since the start or the last clear</source>
        <translation>Erfolgreiche Ausführungen seit dem Start oder dem letzten Leeren</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>Fehlgeschlagen</translation>
    </message>
    <message>
        <source>Runs that returned an error or threw</source>
        <translation>Ausführungen, die einen Fehler lieferten oder eine Ausnahme warfen</translation>
    </message>
    <message>
        <source>Refused</source>
        <translation>Abgewiesen</translation>
    </message>
    <message>
        <source>Runs refused because the name was pending or backing off</source>
        <translation>Ausführungen, die abgewiesen wurden, weil der Name anstand oder im Backoff war</translation>
    </message>
    <message>
        <source>Hashing: %1 of %2 files, %3</source>
        <translation>Hashen: %1 von %2 Dateien, %3</translation>
    </message>
    <message>
        <source>Hashed %1 files (%2), watching %3</source>
        <translation>%1 Dateien gehasht (%2), %3 überwacht</translation>
    </message>
    <message>
        <source>watching folder</source>
        <translation>Ordner wird überwacht</translation>
    </message>
    <message numerus="yes">
        <source>cancellation requested for %n operation(s)</source>
        <translation>
            <numerusform>Abbruch für %n Operation angefordert</numerusform>
            <numerusform>Abbruch für %n Operationen angefordert</numerusform>
        </translation>
    </message>
    <message>
        <source>Watch Folder</source>
        <translation>Ordner überwachen</translation>
    </message>
</context>
<context>
    <name>goroutinemap::demo::RunDialog</name>
    <message>
        <source>Report progress</source>
        <translation>Fortschritt melden</translation>
    </message>
    <message>
        <source>Run Operation</source>
        <translation>Operation ausführen</translation>
    </message>
    <message>
        <source>Succeed</source>
        <translation>Erfolg</translation>
    </message>
    <message>
        <source>Fail (return an error)</source>
        <translation>Fehlschlag (Fehler zurückgeben)</translation>
    </message>
    <message>
        <source>Throw an exception</source>
        <translation>Ausnahme werfen</translation>
    </message>
    <message>
        <source>With backoff on, the map runs a failed operation again each time its backoff window ends, this many times.</source>
        <translation>Bei eingeschaltetem Backoff führt die Map eine fehlgeschlagene Operation jedes Mal, wenn ihre Wartezeit endet, erneut aus, so oft wie hier angegeben.</translation>
    </message>
    <message>
        <source>Runs with the same name are refused while one is pending or backing off.</source>
        <translation>Ausführungen mit demselben Namen werden abgewiesen, solange eine ansteht oder im Backoff ist.</translation>
    </message>
    <message>
        <source>&amp;Name:</source>
        <translation>&amp;Name:</translation>
    </message>
    <message>
        <source>&amp;Duration:</source>
        <translation>&amp;Dauer:</translation>
    </message>
    <message>
        <source>&amp;Outcome:</source>
        <translation>A&amp;usgang:</translation>
    </message>
    <message>
        <source>Automatic &amp;retries:</source>
        <translation>Automatische &amp;Wiederholungen:</translation>
    </message>
    <message>
        <source>&amp;Run</source>
        <translation>&amp;Ausführen</translation>
    </message>
</context>
<context>
    <name>goroutinemap::demo::Simulation</name>
    <message>
        <source>working</source>
        <translation>in Arbeit</translation>
    </message>
    <message>
        <source>canceled after %1 ms</source>
        <translation>nach %1 ms abgebrochen</translation>
    </message>
    <message>
        <source>simulated failure after %1 ms</source>
        <translation>simulierter Fehlschlag nach %1 ms</translation>
    </message>
</context>
<context>
    <name>goroutinemap::demo::appearance</name>
    <message>
        <source>%1 ms</source>
        <translation>%1 ms</translation>
    </message>
    <message>
        <source>%1 s</source>
        <translation>%1 s</translation>
    </message>
    <message>
        <source>%1 min %2 s</source>
        <translation>%1 min %2 s</translation>
    </message>
</context>
</TS>
