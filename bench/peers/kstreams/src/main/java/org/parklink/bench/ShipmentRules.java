package org.parklink.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;

/**
 * SHIPMENT_DELAY and CORRIDOR_CONGESTION in Kafka Streams: the peer the shipments benchmark holds
 * ParkLink's detector against (bench/peers/quix_rules.py is the same rules in Quix Streams).
 *
 * <p>Usage: {@code java -jar kstreams-peer.jar BOOTSTRAP REGISTRY_URL INPUT OUTPUT APP_ID STATE_DIR}
 *
 * <p>Stage 1, keyed by shipment id (RocksDB store): the latest update by (event_time, event_id) gives
 * status, plan and corridor, the latest update with an estimate gives the ETA; a repeat or an older
 * update changes nothing. When the delay severity changes, a message goes to the shipment's
 * corridor through a repartition topic. Stage 2, keyed by corridor: the corridor's delayed
 * shipments, the SHIPMENT_DELAY transition and, when the count or severity changes,
 * CORRIDOR_CONGESTION. Alerts are JSON records keyed {@code TYPE|subject}. Prints {@code
 * first-record <epoch ms>} when it reads its first record.
 */
public final class ShipmentRules {
  static final long HOUR_MS = 3_600_000L;
  static final long WARNING_MS = 24 * HOUR_MS;
  static final long CRITICAL_MS = 72 * HOUR_MS;
  static final int CONGESTION_WARNING = 3;
  static final int CONGESTION_CRITICAL = 5;

  private ShipmentRules() {}

  /** Confluent wire format (0x00, 4-byte schema id, Avro body), writer schema from the registry. */
  static final class AvroFrames {
    private final String registry;
    private final HttpClient http = HttpClient.newHttpClient();
    private final ObjectMapper json = new ObjectMapper();
    private final Map<Integer, GenericDatumReader<GenericRecord>> readers = new HashMap<>();
    private BinaryDecoder decoder;
    private GenericRecord reuse;

    AvroFrames(String registry) {
      this.registry = registry;
    }

    GenericRecord decode(byte[] frame) {
      if (frame == null || frame.length < 5 || frame[0] != 0) {
        throw new IllegalArgumentException("not a Confluent-framed Avro value");
      }
      int id = ByteBuffer.wrap(frame, 1, 4).getInt();
      GenericDatumReader<GenericRecord> reader = readers.computeIfAbsent(id, this::fetch);
      decoder = DecoderFactory.get().binaryDecoder(frame, 5, frame.length - 5, decoder);
      try {
        reuse = reader.read(reuse, decoder);
      } catch (java.io.IOException e) {
        throw new IllegalArgumentException("bad Avro body", e);
      }
      return reuse;
    }

    private GenericDatumReader<GenericRecord> fetch(int id) {
      try {
        HttpRequest req = HttpRequest.newBuilder(URI.create(registry + "/schemas/ids/" + id)).build();
        String body = http.send(req, HttpResponse.BodyHandlers.ofString()).body();
        String text = json.readTree(body).get("schema").asText();
        return new GenericDatumReader<>(new Schema.Parser().parse(text));
      } catch (java.io.IOException e) {
        throw new IllegalStateException("registry unreachable", e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted", e);
      }
    }
  }

  static String delaySeverity(String status, long planned, String eta) {
    if (status.equals("DELIVERED") || status.equals("CANCELLED") || eta.isEmpty()) {
      return "";
    }
    long late = Long.parseLong(eta) - planned;
    if (late > CRITICAL_MS) {
      return "CRITICAL";
    }
    return late > WARNING_MS ? "WARNING" : "";
  }

  static boolean newer(long t, String id, long heldT, String heldId) {
    return t > heldT || (t == heldT && id.compareTo(heldId) > 0);
  }

  /** Stage 1. State value: t|id|status|planned|corridor|eta|eta_t|eta_id|severity. */
  static final class ShipmentStage implements Processor<String, byte[], String, String> {
    private static boolean first = true;
    private final AvroFrames frames;
    private ProcessorContext<String, String> context;
    private KeyValueStore<String, String> store;

    ShipmentStage(AvroFrames frames) {
      this.frames = frames;
    }

    @Override
    public void init(ProcessorContext<String, String> context) {
      this.context = context;
      this.store = context.getStateStore("shipments");
    }

    @Override
    public void process(Record<String, byte[]> record) {
      if (first) {
        first = false;
        System.out.println("first-record " + System.currentTimeMillis());
        System.out.flush();
      }
      GenericRecord e = frames.decode(record.value());
      String shipment = e.get("shipment_id").toString();
      long t = (Long) e.get("event_time");
      String id = e.get("event_id").toString();
      Object rawEta = e.get("estimated_arrival");
      String eta = rawEta == null ? "" : rawEta.toString();
      String status = e.get("status").toString();
      String planned = e.get("planned_arrival").toString();
      String corridor = e.get("corridor").toString();
      String held = store.get(shipment);
      String[] s;
      if (held == null) {
        s =
            new String[] {
              Long.toString(t),
              id,
              status,
              planned,
              corridor,
              eta,
              eta.isEmpty() ? "-1" : Long.toString(t),
              eta.isEmpty() ? "" : id,
              ""
            };
      } else {
        s = held.split("\\|", -1);
        boolean changed = false;
        if (newer(t, id, Long.parseLong(s[0]), s[1])) {
          s[0] = Long.toString(t);
          s[1] = id;
          s[2] = status;
          s[3] = planned;
          s[4] = corridor;
          changed = true;
        }
        if (!eta.isEmpty() && newer(t, id, Long.parseLong(s[6]), s[7])) {
          s[5] = eta;
          s[6] = Long.toString(t);
          s[7] = id;
          changed = true;
        }
        if (!changed) {
          return;
        }
      }
      String severity = delaySeverity(s[2], Long.parseLong(s[3]), s[5]);
      if (!severity.equals(s[8])) {
        s[8] = severity;
        context.forward(record.withKey(s[4]).withValue(shipment + "|" + severity));
      }
      store.put(shipment, String.join("|", s));
    }
  }

  static String alert(String type, String subject, String severity, int count) {
    String sev = severity.isEmpty() ? "null" : "\"" + severity + "\"";
    String status = severity.isEmpty() ? "RESOLVED" : "FIRING";
    return String.format(
        "{\"type\":\"%s\",\"subject\":\"%s\",\"severity\":%s,\"status\":\"%s\",\"count\":%d}",
        type, subject, sev, status, count);
  }

  /** Stage 2. Store: d|corridor|shipment -> severity; c|corridor -> count|severity. */
  static final class CorridorStage implements Processor<String, String, String, String> {
    private ProcessorContext<String, String> context;
    private KeyValueStore<String, String> store;

    @Override
    public void init(ProcessorContext<String, String> context) {
      this.context = context;
      this.store = context.getStateStore("corridors");
    }

    private void emit(Record<String, String> r, String type, String subject, String value) {
      context.forward(r.withKey(type + "|" + subject).withValue(value));
    }

    @Override
    public void process(Record<String, String> record) {
      String corridor = record.key();
      String[] msg = record.value().split("\\|", -1);
      String shipment = msg[0];
      String severity = msg[1];
      String key = "d|" + corridor + "|" + shipment;
      String before = store.get(key);
      String head = store.get("c|" + corridor);
      int count = head == null ? 0 : Integer.parseInt(head.split("\\|", -1)[0]);
      String was = head == null ? "" : head.split("\\|", -1)[1];
      if (severity.isEmpty()) {
        if (before == null) {
          return;
        }
        store.delete(key);
        count -= 1;
      } else {
        store.put(key, severity);
        if (before == null) {
          count += 1;
        }
      }
      emit(record, "SHIPMENT_DELAY", shipment, alert("SHIPMENT_DELAY", shipment, severity, 0));
      String congested =
          count >= CONGESTION_CRITICAL ? "CRITICAL" : count >= CONGESTION_WARNING ? "WARNING" : "";
      boolean moved = before == null || severity.isEmpty();
      if (!congested.isEmpty() && (!congested.equals(was) || moved)) {
        emit(record, "CORRIDOR_CONGESTION", corridor, alert("CORRIDOR_CONGESTION", corridor, congested, count));
      } else if (congested.isEmpty() && !was.isEmpty()) {
        emit(record, "CORRIDOR_CONGESTION", corridor, alert("CORRIDOR_CONGESTION", corridor, "", count));
      }
      store.put("c|" + corridor, count + "|" + congested);
    }
  }

  public static void main(String[] args) throws InterruptedException {
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
    if (args.length != 6) {
      System.err.println("usage: BOOTSTRAP REGISTRY_URL INPUT OUTPUT APP_ID STATE_DIR");
      System.exit(2);
    }
    String bootstrap = args[0];
    String registry = args[1];
    String source = args[2];
    String sink = args[3];
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, args[4]);
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(StreamsConfig.STATE_DIR_CONFIG, args[5]);
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
    props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 1000);
    props.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
    props.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
    // The bench broker's login (SASL_SSL with SCRAM), from the environment the bench gives.
    String protocol = System.getenv("PEER_KAFKA_SECURITY_PROTOCOL");
    if (protocol != null && protocol.equalsIgnoreCase("sasl_ssl")) {
      props.put("security.protocol", "SASL_SSL");
      props.put("sasl.mechanism", System.getenv("PEER_KAFKA_SASL_MECHANISM"));
      props.put(
          "sasl.jaas.config",
          "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
              + System.getenv("PEER_KAFKA_SASL_USERNAME")
              + "\" password=\""
              + System.getenv("PEER_KAFKA_SASL_PASSWORD")
              + "\";");
      props.put("ssl.truststore.type", "PEM");
      props.put("ssl.truststore.location", System.getenv("PEER_KAFKA_SSL_CA_LOCATION"));
    }

    StreamsBuilder builder = new StreamsBuilder();
    builder.addStateStore(
        Stores.keyValueStoreBuilder(
            Stores.persistentKeyValueStore("shipments"), Serdes.String(), Serdes.String()));
    builder.addStateStore(
        Stores.keyValueStoreBuilder(
            Stores.persistentKeyValueStore("corridors"), Serdes.String(), Serdes.String()));
    AvroFrames frames = new AvroFrames(registry);
    builder.stream(source, Consumed.with(Serdes.String(), Serdes.ByteArray()))
        .process(() -> new ShipmentStage(frames), "shipments")
        .repartition(Repartitioned.with(Serdes.String(), Serdes.String()).withName("corridor"))
        .process(CorridorStage::new, "corridors")
        .to(sink, Produced.with(Serdes.String(), Serdes.String()));

    KafkaStreams streams = new KafkaStreams(builder.build(), props);
    CountDownLatch done = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  streams.close();
                  done.countDown();
                }));
    streams.start();
    done.await();
  }
}
