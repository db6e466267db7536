// Reads every custom resource of the given YAML files into the Java model its operator
// publishes (Strimzi's io.strimzi:api, fabric8's Prometheus Operator model) and fails on what
// the model does not accept: a wrong type or enum value (Jackson refuses it) or a field the
// model does not know (the models keep those in getAdditionalProperties(), so any entry there
// is a typo or a field of another version), and a value the model drops when it is written back
// (an enum value the model maps to nothing). Other kinds are left to kubeconform.
// usage: java -cp '<libs>/*' CheckResources.java FILE.yaml...
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.introspect.Annotated;
import com.fasterxml.jackson.databind.introspect.JacksonAnnotationIntrospector;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.File;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

public class CheckResources {
    static final Map<String, String> MODELS = Map.of(
        "kafka.strimzi.io/v1beta2/Kafka", "io.strimzi.api.kafka.model.kafka.Kafka",
        "kafka.strimzi.io/v1beta2/KafkaNodePool", "io.strimzi.api.kafka.model.nodepool.KafkaNodePool",
        "kafka.strimzi.io/v1beta2/KafkaTopic", "io.strimzi.api.kafka.model.topic.KafkaTopic",
        "kafka.strimzi.io/v1beta2/KafkaUser", "io.strimzi.api.kafka.model.user.KafkaUser",
        "monitoring.coreos.com/v1/ServiceMonitor", "io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitor",
        "monitoring.coreos.com/v1/PrometheusRule", "io.fabric8.openshift.api.model.monitoring.v1.PrometheusRule");

    public static void main(String[] args) throws Exception {
        YAMLMapper mapper = new YAMLMapper();
        mapper.enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
        mapper.enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);
        // Written back with every property, defaults included: what is null then was dropped.
        mapper.setAnnotationIntrospector(new JacksonAnnotationIntrospector() {
            @Override
            public JsonInclude.Value findPropertyInclusion(Annotated a) {
                return JsonInclude.Value.construct(JsonInclude.Include.ALWAYS, JsonInclude.Include.ALWAYS);
            }
        });
        int checked = 0;
        Set<String> problems = new LinkedHashSet<>();
        for (String file : args) {
            try (MappingIterator<JsonNode> docs = mapper.readerFor(JsonNode.class).readValues(new File(file))) {
                while (docs.hasNext()) {
                    JsonNode doc = docs.next();
                    if (doc == null || doc.isNull() || doc.isMissingNode()) continue;
                    String gvk = doc.path("apiVersion").asText() + "/" + doc.path("kind").asText();
                    String where = file + ": " + gvk + " " + doc.path("metadata").path("name").asText();
                    String model = MODELS.get(gvk);
                    if (model == null) {
                        if (gvk.contains(".strimzi.io/") || gvk.startsWith("monitoring.coreos.com/")) {
                            problems.add(where + ": no model for this kind or version");
                        }
                        continue;
                    }
                    checked++;
                    try {
                        Object value = mapper.treeToValue(doc, Class.forName(model));
                        unknownFields(value, "", problems, where);
                        dropped(doc, mapper.valueToTree(value), "", problems, where);
                    } catch (Exception e) {
                        problems.add(where + ": " + e.getMessage().split("\n")[0]);
                    }
                }
            }
        }
        problems.forEach(System.out::println);
        System.out.println(checked + " custom resources checked, " + problems.size() + " problems");
        System.exit(problems.isEmpty() && checked > 0 ? 0 : 1);
    }

    static void dropped(JsonNode given, JsonNode back, String path, Set<String> problems, String where) {
        if (given.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = given.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                JsonNode other = back == null ? null : back.get(e.getKey());
                if (!e.getValue().isNull() && (other == null || other.isNull())) {
                    problems.add(where + ": value not accepted at " + path + "." + e.getKey() + ": " + e.getValue());
                } else if (other != null) {
                    dropped(e.getValue(), other, path + "." + e.getKey(), problems, where);
                }
            }
        } else if (given.isArray() && back != null && back.isArray()) {
            for (int i = 0; i < given.size() && i < back.size(); i++) {
                dropped(given.get(i), back.get(i), path + "[" + i + "]", problems, where);
            }
        }
    }

    static void unknownFields(Object value, String path, Set<String> problems, String where) throws Exception {
        if (value == null) return;
        if (value instanceof Collection<?> items) {
            int i = 0;
            for (Object item : items) unknownFields(item, path + "[" + i++ + "]", problems, where);
            return;
        }
        if (value instanceof Map<?, ?> map) {
            for (Map.Entry<?, ?> e : map.entrySet()) unknownFields(e.getValue(), path + "." + e.getKey(), problems, where);
            return;
        }
        String pkg = value.getClass().getPackageName();
        if (!pkg.startsWith("io.strimzi.") && !pkg.startsWith("io.fabric8.")) return;
        for (Method m : value.getClass().getMethods()) {
            if (m.getParameterCount() != 0 || Modifier.isStatic(m.getModifiers())) continue;
            String name = m.getName();
            if (name.equals("getAdditionalProperties")) {
                Object extra = m.invoke(value);
                if (extra instanceof Map<?, ?> map && !map.isEmpty()) {
                    problems.add(where + ": unknown field(s) " + map.keySet() + " at " + (path.isEmpty() ? "." : path));
                }
            } else if (name.startsWith("get") && !name.equals("getClass") && m.getDeclaringClass() != Object.class) {
                Object child;
                try {
                    child = m.invoke(value);
                } catch (Exception e) {
                    continue;
                }
                if (child != value) unknownFields(child, path + "." + Character.toLowerCase(name.charAt(3)) + name.substring(4), problems, where);
            }
        }
    }
}
