package dev.riffle.runner;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import dev.riffle.processor.Processor;
import dev.riffle.processor.Reader;
import dev.riffle.processor.Writer;
import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Type;
import java.net.URI;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Loads a processor's class ({@code jar}, {@code classes} folder, or this runner's own classpath) and
 * constructs it from its arguments: Jackson binds the JSON to the constructor's parameter type, with
 * {@code {"@reader": id}} and {@code {"@writer": id}} replaced by the processor's live ends.
 */
final class Construct {
    private static final ThreadLocal<Ends> ENDS = new ThreadLocal<>();
    private static final Map<Path, ClassLoader> LOADERS = new HashMap<>();
    private static ObjectMapper mapper;

    private Construct() {}

    /** Why a processor could not be built: the message says which and how to fix it. */
    static final class BuildException extends Exception {
        private static final long serialVersionUID = 1L;

        BuildException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private static synchronized ObjectMapper mapper() {
        if (mapper == null) {
            SimpleModule ends = new SimpleModule("riffle-ends");
            ends.addDeserializer(Reader.class, new JsonDeserializer<Reader>() {
                @Override
                public Reader deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
                    return ENDS.get().reader(endId(p.readValueAsTree(), "@reader", ctxt));
                }
            });
            ends.addDeserializer(Writer.class, new JsonDeserializer<Writer>() {
                @Override
                public Writer deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
                    return ENDS.get().writer(endId(p.readValueAsTree(), "@writer", ctxt));
                }
            });
            mapper = new ObjectMapper()
                    .registerModule(ends)
                    .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
                    .configure(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES, true);
        }
        return mapper;
    }

    private static String endId(JsonNode node, String key, DeserializationContext ctxt) throws JsonMappingException {
        JsonNode id = node == null ? null : node.get(key);
        if (id == null || !id.isTextual()) {
            throw JsonMappingException.from(ctxt, "expected {\"" + key + "\": \"<channel id>\"}, got " + node);
        }
        return id.asText();
    }

    static Processor<?> build(JsonNode assignment, Ends ends) throws BuildException {
        String id = assignment.get("id").asText();
        JsonNode impl = assignment.get("implementation");
        JsonNode cls = impl.get("class");
        if (cls == null || !cls.isTextual()) {
            throw new BuildException("processor " + id + " has no implementation class (rdfc:class on "
                    + assignment.get("class").asText() + "), so the Java runner cannot tell which class to load", null);
        }
        String className = cls.asText();
        ClassLoader loader = loader(id, impl);
        Class<?> type;
        try {
            type = Class.forName(className, true, loader);
        } catch (ClassNotFoundException | LinkageError e) {
            throw new BuildException("processor " + id + " needs class " + className + ", which is not in "
                    + where(impl) + " (" + e + ")", e);
        }
        if (!Processor.class.isAssignableFrom(type)) {
            throw new BuildException("processor " + id + ": class " + className + " does not extend "
                    + Processor.class.getName(), null);
        }
        Constructor<?> ctor = null;
        for (Constructor<?> c : type.getConstructors()) {
            if (c.getParameterCount() == 1 && (ctor == null || ctor.getParameterCount() == 0)) {
                ctor = c;
            } else if (c.getParameterCount() == 0 && ctor == null) {
                ctor = c;
            }
        }
        if (ctor == null) {
            throw new BuildException("processor " + id + ": class " + className
                    + " has no public constructor taking its arguments (one parameter) or nothing", null);
        }
        Object[] params = new Object[ctor.getParameterCount()];
        if (params.length == 1) {
            params[0] = bind(id, className, assignment.get("arguments"), ctor.getGenericParameterTypes()[0], ends);
        }
        try {
            return (Processor<?>) ctor.newInstance(params);
        } catch (InvocationTargetException e) {
            throw new BuildException("processor " + id + " (" + className + "): its constructor threw "
                    + e.getCause(), e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new BuildException("processor " + id + " (" + className + "): cannot construct it: " + e, e);
        }
    }

    private static Object bind(String id, String className, JsonNode arguments, Type type, Ends ends)
            throws BuildException {
        ObjectMapper m = mapper();
        JavaType javaType = m.getTypeFactory().constructType(type);
        ENDS.set(ends);
        try {
            Object value = m.readerFor(javaType).readValue(m.treeAsTokens(arguments));
            return replaceEnds(value, ends);
        } catch (IOException | IllegalArgumentException e) {
            String message = e instanceof JsonMappingException ? ((JsonMappingException) e).getOriginalMessage()
                    + path((JsonMappingException) e) : e.getMessage();
            throw new BuildException("processor " + id + " (" + className + "): invalid arguments: " + message, e);
        } finally {
            ENDS.remove();
        }
    }

    private static String path(JsonMappingException e) {
        StringBuilder b = new StringBuilder();
        for (JsonMappingException.Reference r : e.getPath()) {
            b.append(r.getFieldName() != null ? "." + r.getFieldName() : "[" + r.getIndex() + "]");
        }
        return b.length() == 0 ? "" : " (at " + b.substring(b.charAt(0) == '.' ? 1 : 0) + ")";
    }

    /** In untyped values (maps, lists), reader and writer placeholders become the live ends. */
    @SuppressWarnings("unchecked")
    private static Object replaceEnds(Object value, Ends ends) {
        if (value instanceof Map) {
            Map<String, Object> map = (Map<String, Object>) value;
            if (map.size() == 1 && map.get("@reader") instanceof String) {
                return ends.reader((String) map.get("@reader"));
            }
            if (map.size() == 1 && map.get("@writer") instanceof String) {
                return ends.writer((String) map.get("@writer"));
            }
            Map<String, Object> out = new LinkedHashMap<>();
            for (Map.Entry<String, Object> e : map.entrySet()) {
                out.put(e.getKey(), replaceEnds(e.getValue(), ends));
            }
            return out;
        }
        if (value instanceof List) {
            List<Object> out = new ArrayList<>();
            for (Object o : (List<Object>) value) {
                out.add(replaceEnds(o, ends));
            }
            return out;
        }
        return value;
    }

    private static String where(JsonNode impl) {
        if (impl.hasNonNull("jar")) {
            return "jar " + impl.get("jar").asText();
        }
        if (impl.hasNonNull("classes")) {
            return "classes folder " + impl.get("classes").asText();
        }
        return "the Java runner's own classpath (give rdfc:jar or riffle:classes for your own processors)";
    }

    private static synchronized ClassLoader loader(String id, JsonNode impl) throws BuildException {
        String field = impl.hasNonNull("jar") ? "jar" : impl.hasNonNull("classes") ? "classes" : null;
        if (field == null) {
            return Construct.class.getClassLoader();
        }
        String iri = impl.get(field).asText();
        Path path;
        try {
            path = iri.startsWith("file:") ? Path.of(URI.create(iri)) : Path.of(iri).toAbsolutePath();
        } catch (IllegalArgumentException e) {
            throw new BuildException("processor " + id + ": " + field + " " + iri + " is not a file path or file: IRI",
                    e);
        }
        if (field.equals("jar") ? !Files.isRegularFile(path) : !Files.isDirectory(path)) {
            throw new BuildException("processor " + id + ": " + (field.equals("jar") ? "jar " : "classes folder ")
                    + path + " does not exist (" + (field.equals("jar") ? "rdfc:jar" : "riffle:classes")
                    + "; build it first, or fix the path)", null);
        }
        ClassLoader existing = LOADERS.get(path);
        if (existing != null) {
            return existing;
        }
        try {
            URL url = path.toUri().toURL();
            ClassLoader l = new URLClassLoader(new URL[] {url}, Construct.class.getClassLoader());
            LOADERS.put(path, l);
            return l;
        } catch (IOException e) {
            throw new BuildException("processor " + id + ": cannot load " + path + ": " + e.getMessage(), e);
        }
    }
}
