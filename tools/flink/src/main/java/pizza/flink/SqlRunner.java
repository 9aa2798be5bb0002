package pizza.flink;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.StatementSet;
import org.apache.flink.table.api.TableResult;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;

/**
 * Runs Flink SQL scripts on embedded mini-clusters (each job gets its own, in this JVM).
 *
 * <p>Each statement goes through {@code executeSql}, except {@code SET 'key' = 'value'}, which
 * sets the table config for the statements after it. Every statement that starts a job (INSERT,
 * EXECUTE STATEMENT SET, or a SQL-client style {@code BEGIN STATEMENT SET; ... END;} block) is
 * submitted and waited for until it is RUNNING. Progress lines go to stdout tagged {@code
 * PIZZA-FLINK} and to the caller; Flink's own logs go to stderr. {@link SqlServer} is the entry
 * point.
 */
final class SqlRunner {
  static final String TAG = "PIZZA-FLINK";
  private static final Pattern BEGIN_SET =
      Pattern.compile("BEGIN\\s+STATEMENT\\s+SET", Pattern.CASE_INSENSITIVE);
  private static final Pattern END = Pattern.compile("END", Pattern.CASE_INSENSITIVE);
  // executeSql() rejects SET; the runner applies it to the table config itself.
  private static final Pattern SET =
      Pattern.compile(
          "SET\\s+'((?:[^']|'')+)'\\s*=\\s*'((?:[^']|'')*)'",
          Pattern.CASE_INSENSITIVE | Pattern.DOTALL);
  private static final Pattern QUERY =
      Pattern.compile("^(SELECT|WITH|VALUES)\\b", Pattern.CASE_INSENSITIVE);

  private SqlRunner() {}

  /** A fresh table environment: no table, view or SET of an earlier script leaks into the next. */
  static StreamTableEnvironment newTableEnvironment() {
    Configuration conf = new Configuration();
    conf.set(CoreOptions.DEFAULT_PARALLELISM, 1);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(conf);
    return StreamTableEnvironment.create(env, EnvironmentSettings.newInstance().inStreamingMode().build());
  }

  /**
   * Executes every statement of {@code script} and returns the jobs it started, each RUNNING (or
   * already FINISHED). When a statement fails, the jobs started before it are cancelled first.
   */
  static List<JobClient> run(String script, Consumer<String> progress) throws Exception {
    List<String> statements = splitStatements(script);
    if (statements.isEmpty()) throw new IllegalArgumentException("no SQL statements in the script");
    StreamTableEnvironment tEnv = newTableEnvironment();
    List<JobClient> jobs = new ArrayList<>();
    try {
      StatementSet statementSet = null;
      for (int i = 0; i < statements.size(); i++) {
        String sql = statements.get(i);
        progress.accept(String.format("statement %d/%d: %s", i + 1, statements.size(), summary(sql)));
        String code = stripComments(sql).strip();

        Matcher set = SET.matcher(code);
        if (set.matches()) {
          tEnv.getConfig().set(unquote(set.group(1)), unquote(set.group(2)));
          continue;
        }
        if (BEGIN_SET.matcher(code).matches()) {
          if (statementSet != null) throw new IllegalStateException("nested BEGIN STATEMENT SET");
          statementSet = tEnv.createStatementSet();
          continue;
        }
        if (statementSet != null) {
          if (END.matcher(code).matches()) {
            submitted(statementSet.execute(), jobs, progress);
            statementSet = null;
          } else {
            statementSet.addInsertSql(sql);
          }
          continue;
        }

        TableResult result = tEnv.executeSql(sql);
        if (QUERY.matcher(code).find()) {
          result.print(); // blocks until a bounded query ends; meant for debugging scripts
        } else if (result.getJobClient().isPresent()) {
          submitted(result, jobs, progress);
        }
      }
      if (statementSet != null) throw new IllegalStateException("BEGIN STATEMENT SET without END");
      progress.accept("all statements executed, jobs running: " + jobs.size());
      return jobs;
    } catch (Exception e) {
      for (JobClient job : jobs) job.cancel();
      throw e;
    }
  }

  private static void submitted(TableResult result, List<JobClient> jobs, Consumer<String> progress)
      throws Exception {
    JobClient job =
        result.getJobClient().orElseThrow(() -> new IllegalStateException("no job was started"));
    jobs.add(job);
    waitUntilRunning(job);
    progress.accept("job submitted " + job.getJobID());
  }

  private static void waitUntilRunning(JobClient job) throws Exception {
    while (true) {
      JobStatus status = job.getJobStatus().get();
      if (status == JobStatus.RUNNING) return;
      if (status.isGloballyTerminalState()) {
        if (status == JobStatus.FINISHED) return;
        job.getJobExecutionResult().get(); // throws the job's failure cause
        throw new IllegalStateException("job " + job.getJobID() + " ended as " + status);
      }
      Thread.sleep(50);
    }
  }

  /**
   * Splits a script at top-level semicolons. Semicolons inside '...' strings (with '' escapes),
   * "..." or `...` identifiers, -- line comments and block comments (including hints) do not
   * count, nor do those inside an EXECUTE STATEMENT SET BEGIN ... END block. Pieces holding
   * only comments and whitespace are dropped; the returned statements keep their comments.
   */
  static List<String> splitStatements(String script) {
    List<String> statements = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    StringBuilder code = new StringBuilder(); // current statement without comments or literals
    int n = script.length();
    int i = 0;
    while (i < n) {
      char c = script.charAt(i);
      char next = i + 1 < n ? script.charAt(i + 1) : '\0';
      if (c == '-' && next == '-') {
        int end = script.indexOf('\n', i);
        end = end < 0 ? n : end;
        current.append(script, i, end);
        code.append(' ');
        i = end;
      } else if (c == '/' && next == '*') {
        int end = script.indexOf("*/", i + 2);
        end = end < 0 ? n : end + 2;
        current.append(script, i, end);
        code.append(' ');
        i = end;
      } else if (c == '\'' || c == '"' || c == '`') {
        int end = closingQuote(script, i);
        current.append(script, i, end);
        code.append(" q ");
        i = end;
      } else if (c == ';' && !insideStatementSetBlock(code)) {
        addIfCode(statements, current, code);
        current.setLength(0);
        code.setLength(0);
        i++;
      } else {
        current.append(c);
        code.append(c);
        i++;
      }
    }
    addIfCode(statements, current, code);
    return statements;
  }

  private static final Pattern SET_BLOCK_START =
      Pattern.compile("^\\s*EXECUTE\\s+STATEMENT\\s+SET\\s+BEGIN\\b", Pattern.CASE_INSENSITIVE);
  private static final Pattern SET_BLOCK_END =
      Pattern.compile("\\bEND\\s*$", Pattern.CASE_INSENSITIVE);

  private static boolean insideStatementSetBlock(CharSequence code) {
    return SET_BLOCK_START.matcher(code).find() && !SET_BLOCK_END.matcher(code).find();
  }

  /** Index just past the quote that closes the one at {@code start}; a doubled quote escapes. */
  private static int closingQuote(String s, int start) {
    char quote = s.charAt(start);
    int i = start + 1;
    while (i < s.length()) {
      if (s.charAt(i) == quote) {
        if (i + 1 < s.length() && s.charAt(i + 1) == quote) {
          i += 2;
          continue;
        }
        return i + 1;
      }
      i++;
    }
    return s.length();
  }

  private static void addIfCode(List<String> out, CharSequence statement, CharSequence code) {
    if (!code.toString().isBlank()) out.add(statement.toString().strip());
  }

  /** The statement with comments (hints included) replaced by spaces; literals are kept. */
  private static String stripComments(String sql) {
    StringBuilder out = new StringBuilder();
    int i = 0;
    while (i < sql.length()) {
      char c = sql.charAt(i);
      char next = i + 1 < sql.length() ? sql.charAt(i + 1) : '\0';
      if (c == '-' && next == '-') {
        int end = sql.indexOf('\n', i);
        i = end < 0 ? sql.length() : end;
        out.append(' ');
      } else if (c == '/' && next == '*') {
        int end = sql.indexOf("*/", i + 2);
        i = end < 0 ? sql.length() : end + 2;
        out.append(' ');
      } else if (c == '\'' || c == '"' || c == '`') {
        int end = closingQuote(sql, i);
        out.append(sql, i, end);
        i = end;
      } else {
        out.append(c);
        i++;
      }
    }
    return out.toString();
  }

  private static String unquote(String literalBody) {
    return literalBody.replace("''", "'");
  }

  private static String summary(String sql) {
    String oneLine = stripComments(sql).strip().replaceAll("\\s+", " ");
    return oneLine.length() > 100 ? oneLine.substring(0, 100) + "..." : oneLine;
  }

  static String rootMessage(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) root = root.getCause();
    String message = root.getMessage();
    return message == null || message.isBlank() ? root.toString() : message.replace('\n', ' ');
  }

  /** Prints a progress line to stdout, where the launcher and the JVM's log file see it. */
  static void say(String line) {
    synchronized (System.out) {
      System.out.println(TAG + " " + line);
      System.out.flush();
    }
  }
}
