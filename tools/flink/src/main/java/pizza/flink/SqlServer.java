package pizza.flink;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.client.JobCancellationException;

/**
 * One long-lived JVM that runs Flink SQL scripts sent to it over HTTP on the loopback interface,
 * so the planner is loaded and warmed once, not once per script.
 *
 * <p>Usage: {@code SqlServer [port]} (0 or none: any free port), with a secret token as the first
 * line on stdin: every request must carry {@code Authorization: Bearer <token>}, since a script can
 * read and write files as this user and other users on the machine reach the loopback interface
 * too. It prints {@code PIZZA-FLINK serving on port <n>} once it listens, then answers:
 *
 * <ul>
 *   <li>{@code POST /scripts} with a SQL script as the body: runs it (see {@link SqlRunner}); 200
 *       {@code {"jobIds":[...],"lines":[...]}} once its jobs are running, or 422 {@code
 *       {"error":"...","lines":[...]}} when a statement fails.
 *   <li>{@code GET /jobs/<id>}: waits until the job ends; 200 {@code {"state":"FINISHED"}}, or
 *       FAILED with its {@code error}, or CANCELED.
 *   <li>{@code DELETE /jobs/<id>}: cancels the job and waits until it has stopped; 204 (also when
 *       it had already ended).
 * </ul>
 *
 * Scripts run one at a time (each one plans on the same few cores); their jobs run side by side.
 */
public final class SqlServer {
  private static final long CANCEL_TIMEOUT_SECONDS = 30;

  private final Map<String, JobClient> jobs = new ConcurrentHashMap<>();
  private final Object planning = new Object();
  private final byte[] authorization;

  private SqlServer(String token) {
    authorization = ("Bearer " + token).getBytes(StandardCharsets.UTF_8);
  }

  public static void main(String[] args) throws IOException {
    int port = args.length > 0 ? Integer.parseInt(args[0]) : 0;
    String token =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
    if (token == null || token.isBlank()) {
      System.err.println("usage: SqlServer [port], with a token as the first line on stdin");
      System.exit(2);
    }
    SqlServer server = new SqlServer(token.strip());
    HttpServer http =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 0);
    http.createContext("/scripts", exchange -> server.handle(exchange, server::scripts));
    http.createContext("/jobs/", exchange -> server.handle(exchange, server::jobs));
    http.setExecutor(Executors.newCachedThreadPool());
    http.start();
    SqlRunner.say("serving on port " + http.getAddress().getPort());
    Thread warmUp = new Thread(server::warmUp, "planner-warm-up");
    warmUp.setDaemon(true);
    warmUp.start();
  }

  /** Loads the planner while nobody waits for it, so the first script does not pay for it. */
  private void warmUp() {
    synchronized (planning) {
      try {
        SqlRunner.newTableEnvironment().explainSql("SELECT 1");
        SqlRunner.say("planner ready");
      } catch (Exception e) {
        SqlRunner.say("planner warm-up failed: " + SqlRunner.rootMessage(e));
      }
    }
  }

  private interface Handler {
    void handle(HttpExchange exchange) throws Exception;
  }

  private void handle(HttpExchange exchange, Handler handler) {
    try {
      String given = exchange.getRequestHeaders().getFirst("Authorization");
      if (given == null
          || !MessageDigest.isEqual(authorization, given.getBytes(StandardCharsets.UTF_8))) {
        respond(exchange, 401, "{\"error\":\"wrong or missing token\"}");
        return;
      }
      handler.handle(exchange);
    } catch (Exception e) {
      e.printStackTrace();
      try {
        respond(exchange, 500, "{\"error\":" + json(SqlRunner.rootMessage(e)) + "}");
      } catch (IOException ignored) {
        // The client went away; nothing more to tell it.
      }
    } finally {
      exchange.close();
    }
  }

  private void scripts(HttpExchange exchange) throws IOException {
    if (!exchange.getRequestMethod().equals("POST")) {
      respond(exchange, 405, "{\"error\":\"POST a SQL script\"}");
      return;
    }
    String script = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
    List<String> lines = new ArrayList<>();
    synchronized (planning) {
      try {
        List<JobClient> started =
            SqlRunner.run(
                script,
                line -> {
                  lines.add(line);
                  SqlRunner.say(line);
                });
        List<String> ids = new ArrayList<>();
        for (JobClient job : started) {
          String id = job.getJobID().toString();
          jobs.put(id, job);
          ids.add(id);
        }
        respond(exchange, 200, "{\"jobIds\":" + json(ids) + ",\"lines\":" + json(lines) + "}");
      } catch (Exception e) {
        e.printStackTrace();
        String error = SqlRunner.rootMessage(e);
        SqlRunner.say("failed: " + error);
        respond(exchange, 422, "{\"error\":" + json(error) + ",\"lines\":" + json(lines) + "}");
      }
    }
  }

  private void jobs(HttpExchange exchange) throws Exception {
    String id = exchange.getRequestURI().getPath().substring("/jobs/".length());
    JobClient job = jobs.get(id);
    if (job == null) {
      respond(exchange, 404, "{\"error\":" + json("no job " + id) + "}");
      return;
    }
    switch (exchange.getRequestMethod()) {
      case "GET" -> respond(exchange, 200, outcome(job, Long.MAX_VALUE));
      case "DELETE" -> {
        try {
          job.cancel().get(CANCEL_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (IllegalStateException | ExecutionException e) {
          // The job had already ended (its mini-cluster is gone): how is read below either way.
        }
        outcome(job, CANCEL_TIMEOUT_SECONDS);
        SqlRunner.say("job cancelled " + id);
        respond(exchange, 204, null);
      }
      default -> respond(exchange, 405, "{\"error\":\"GET or DELETE a job\"}");
    }
  }

  /** Waits for the job to end and describes how it ended, as JSON. */
  private static String outcome(JobClient job, long timeoutSeconds) throws Exception {
    try {
      job.getJobExecutionResult().get(timeoutSeconds, TimeUnit.SECONDS);
      return "{\"state\":\"FINISHED\"}";
    } catch (ExecutionException e) {
      String state = cancelled(e) ? "CANCELED" : "FAILED";
      return "{\"state\":\"" + state + "\",\"error\":" + json(SqlRunner.rootMessage(e)) + "}";
    } catch (TimeoutException e) {
      throw new IllegalStateException("job " + job.getJobID() + " did not stop in time", e);
    }
  }

  private static boolean cancelled(Throwable error) {
    for (Throwable cause = error; cause != null; cause = cause.getCause()) {
      if (cause instanceof JobCancellationException) return true;
      if (cause.getCause() == cause) break;
    }
    return false;
  }

  private static void respond(HttpExchange exchange, int status, String body) throws IOException {
    if (body == null) {
      exchange.sendResponseHeaders(status, -1);
      return;
    }
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  private static String json(List<String> values) {
    List<String> quoted = new ArrayList<>();
    for (String value : values) quoted.add(json(value));
    return "[" + String.join(",", quoted) + "]";
  }

  private static String json(String value) {
    StringBuilder out = new StringBuilder("\"");
    for (char c : value.toCharArray()) {
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
          else out.append(c);
        }
      }
    }
    return out.append('"').toString();
  }
}
