package dev.riffle.conformance;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.riffle.processor.Processor;
import dev.riffle.processor.Writer;
import java.math.BigDecimal;
import java.net.URI;
import java.util.List;

/**
 * {@code rcf:Arguments}: in produce, writes one text message, the JSON of the arguments as the runner's Jackson
 * binding produced them (typed record fields, serialised again), without {@code writer}; then closes. Values
 * that were not given stay null and are left out, so the message shows exactly what arrived.
 */
public final class Arguments extends Processor<Arguments.Args> {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Every typed value of the conformance shape; {@code writer} is bound but not written back. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(value = "writer", allowSetters = true)
    public record Args(
            Writer writer,
            String text,
            Long integer,
            Integer negative,
            @JsonProperty("double") Double dbl,
            BigDecimal decimal,
            Boolean flag,
            URI iri,
            List<String> strings,
            List<Long> numbers,
            List<String> none,
            String fallback,
            Nested nested,
            List<Nested> nestedList) {}

    /** {@code rcf:Nested}. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Nested(String name, Long count, List<String> tags) {}

    public Arguments(Args args) {
        super(args);
    }

    @Override
    public void produce() throws JsonProcessingException {
        args.writer().send(JSON.writeValueAsString(args));
        args.writer().close();
    }
}
