package dev.riffle.processor;

/**
 * A Java processor. Subclasses have a public constructor taking their arguments (a record, a class Jackson
 * can bind, or a {@code Map<String, Object>}), in which readers and writers are live {@link Reader} and
 * {@link Writer} objects; a constructor without parameters is also accepted.
 *
 * <p>Lifecycle, as in the JavaScript runner: the runner constructs every processor and calls {@link #init()}
 * (one processor after the other); after every runner of the pipeline is initialised it calls
 * {@link #transform()} and {@link #produce()}, each on its own thread if the subclass overrides it. The
 * processor has finished when both have returned; writers it left open are closed then. An exception from
 * any of them is reported with the processor's IRI and the Java stack, and stops the pipeline.
 *
 * @param <A> the type its arguments are bound to
 */
public abstract class Processor<A> {
    /** The arguments, with readers and writers in place. */
    protected final A args;
    private volatile Context context;

    protected Processor(A args) {
        this.args = args;
    }

    protected Processor() {
        this(null);
    }

    /** Set-up before the pipeline starts (open files, check arguments). */
    public void init() throws Exception {}

    /** Reads the processor's readers (and writes results); runs after every processor is initialised. */
    public void transform() throws Exception {}

    /** Produces data that does not come from a reader; runs beside {@link #transform()}. */
    public void produce() throws Exception {}

    /** This processor's log. */
    protected final Log log() {
        return context().log();
    }

    /** This processor's IRI in the pipeline. */
    protected final String id() {
        return context().id();
    }

    private Context context() {
        Context c = context;
        if (c == null) {
            throw new IllegalStateException("the processor is not attached to a runner yet (use it from init on)");
        }
        return c;
    }

    /** Called by the runner before {@link #init()}; not for processors. */
    public final void attach(Context context) {
        if (this.context != null) {
            throw new IllegalStateException("processor already attached");
        }
        this.context = context;
    }

    /** What the runner gives a processor. */
    public interface Context {
        String id();

        Log log();
    }
}
