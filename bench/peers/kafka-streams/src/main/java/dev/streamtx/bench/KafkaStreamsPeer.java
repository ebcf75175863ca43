package dev.streamtx.bench;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.TimeWindows;

/**
 * The Kafka Streams side of bench/peers: one stream thread, caching off, running one of the
 * benchmark topologies until SIGTERM. Reports state changes on stdout as
 * {@code kafka-streams state <STATE>} so the runner knows when it is RUNNING.
 *
 * <p>Topologies (output keys and values are what bench/peers/verify.ts expects):
 *
 * <ul>
 *   <li>{@code map}: value upper-cased, key kept (String, String).
 *   <li>{@code count}: per-key count in the default (RocksDB) changelogged store "counts" (String,
 *       Long).
 *   <li>{@code windowed-count}: per-key count in 60 s tumbling windows, store "wcounts"; output key
 *       {@code <key>@<windowStartMs>} (String, Long).
 *   <li>{@code repartition-count}: key changed to the key without its last character, so Kafka
 *       Streams inserts the repartition topic "regroup"; count in store "rcounts" (String, Long).
 * </ul>
 */
public final class KafkaStreamsPeer {
  static final Set<String> TOPOLOGIES = Set.of("map", "count", "windowed-count", "repartition-count");
  static final Set<String> GUARANTEES = Set.of("exactly_once_v2", "at_least_once");
  static final Set<String> FLAGS =
      Set.of(
          "--topology",
          "--guarantee",
          "--commit-interval-ms",
          "--application-id",
          "--bootstrap-servers",
          "--input",
          "--output",
          "--state-dir");

  public static void main(String[] args) throws InterruptedException {
    Map<String, String> opts;
    try {
      opts = parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("kafka-streams-peer: " + e.getMessage());
      System.err.println(
          "usage: KafkaStreamsPeer --topology map|count|windowed-count|repartition-count"
              + " --guarantee exactly_once_v2|at_least_once --commit-interval-ms N"
              + " --application-id ID --bootstrap-servers HOST:PORT[,..] --input TOPIC"
              + " --output TOPIC --state-dir DIR");
      System.exit(2);
      return;
    }

    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, opts.get("--application-id"));
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, opts.get("--bootstrap-servers"));
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, opts.get("--guarantee"));
    props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, opts.get("--commit-interval-ms"));
    props.put(StreamsConfig.STATE_DIR_CONFIG, opts.get("--state-dir"));
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
    // Caching off: every store update is forwarded downstream, as streamtx does.
    props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");

    Topology topology = build(opts.get("--topology"), opts.get("--input"), opts.get("--output"));
    KafkaStreams streams = new KafkaStreams(topology, props);
    CountDownLatch done = new CountDownLatch(1);
    streams.setStateListener(
        (now, before) -> {
          System.out.println("kafka-streams state " + now);
          System.out.flush();
          if (now == KafkaStreams.State.NOT_RUNNING || now == KafkaStreams.State.ERROR) {
            done.countDown();
          }
        });
    streams.setUncaughtExceptionHandler(
        e -> {
          System.err.println("kafka-streams-peer: stream thread failed: " + e);
          return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
    // SIGTERM from the runner: close cleanly (commit, close producers, leave the group).
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  streams.close(Duration.ofSeconds(30));
                  done.countDown();
                }));
    streams.start();
    done.await();
    if (streams.state() == KafkaStreams.State.ERROR) System.exit(1);
  }

  static Topology build(String name, String input, String output) {
    StreamsBuilder builder = new StreamsBuilder();
    KStream<String, String> in =
        builder.stream(input, Consumed.with(Serdes.String(), Serdes.String()));
    switch (name) {
      case "map" ->
          in.mapValues(v -> v.toUpperCase())
              .to(output, Produced.with(Serdes.String(), Serdes.String()));
      case "count" ->
          in.groupByKey()
              .count(Materialized.as("counts"))
              .toStream()
              .to(output, Produced.with(Serdes.String(), Serdes.Long()));
      case "windowed-count" ->
          in.groupByKey()
              .windowedBy(TimeWindows.ofSizeWithNoGrace(Duration.ofSeconds(60)))
              .count(Materialized.as("wcounts"))
              .toStream()
              .map((wk, v) -> KeyValue.pair(wk.key() + "@" + wk.window().start(), v))
              .to(output, Produced.with(Serdes.String(), Serdes.Long()));
      case "repartition-count" ->
          in.groupBy(
                  (k, v) -> k.substring(0, Math.max(0, k.length() - 1)),
                  Grouped.with("regroup", Serdes.String(), Serdes.String()))
              .count(Materialized.as("rcounts"))
              .toStream()
              .to(output, Produced.with(Serdes.String(), Serdes.Long()));
      default -> throw new IllegalStateException("unreachable: " + name);
    }
    return builder.build();
  }

  static Map<String, String> parse(String[] args) {
    Map<String, String> opts = new HashMap<>();
    for (int i = 0; i < args.length; i += 2) {
      String flag = args[i];
      if (!FLAGS.contains(flag)) throw new IllegalArgumentException("unknown flag " + flag);
      if (i + 1 >= args.length) throw new IllegalArgumentException(flag + " needs a value");
      opts.put(flag, args[i + 1]);
    }
    for (String flag : FLAGS) {
      if (!opts.containsKey(flag)) throw new IllegalArgumentException("missing " + flag);
    }
    if (!TOPOLOGIES.contains(opts.get("--topology"))) {
      throw new IllegalArgumentException(
          "--topology must be one of " + TOPOLOGIES + ", got " + opts.get("--topology"));
    }
    if (!GUARANTEES.contains(opts.get("--guarantee"))) {
      throw new IllegalArgumentException(
          "--guarantee must be one of " + GUARANTEES + ", got " + opts.get("--guarantee"));
    }
    try {
      if (Long.parseLong(opts.get("--commit-interval-ms")) < 0) throw new NumberFormatException();
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "--commit-interval-ms must be a non-negative integer, got "
              + opts.get("--commit-interval-ms"));
    }
    return opts;
  }

  private KafkaStreamsPeer() {}
}
