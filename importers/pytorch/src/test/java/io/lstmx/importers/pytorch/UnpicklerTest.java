package io.lstmx.importers.pytorch;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.function.Executable;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

class UnpicklerTest {
    @TempDir
    Path dir;

    private static final Unpickler.Host NO_PERSISTENT = pid -> {
        throw LstmxException.badInput("no persistent ids here");
    };

    private static Object load(byte[] pickle) {
        return new Unpickler(PickleSource.of(pickle, "test.pkl"), NO_PERSISTENT).load();
    }

    private static LstmxException refused(ErrorCode code, Executable body) {
        LstmxException e = assertThrows(LstmxException.class, body);
        assertEquals(code, e.code(), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        return e;
    }

    @Test
    void theContainersAndAtomsTorchSaveWritesAreRead() {
        byte[] p = Pickles.proto2().global("collections", "OrderedDict").emptyTuple().reduce().mark()
                .str("a").integer(7).str("b").integer(-3).str("c").integer(1L << 40)
                .str("d").op(0x88).str("e").op('N').str("f").op('G').raw(new byte[] {0x3f, (byte) 0xf8, 0, 0, 0, 0, 0, 0})
                .str("g").op(']').mark().integer(1).integer(2).op('e')
                .str("h").mark().str("x").integer(3).tuple()
                .str("i").global("builtins", "set").op(']').mark().str("p").str("q").op('e').op(0x85).reduce()
                .op('u').stop().bytes();
        Py.Dict d = assertInstanceOf(Py.Dict.class, load(p));
        assertTrue(d.ordered);
        assertEquals(List.of("a", "b", "c", "d", "e", "f", "g", "h", "i"), List.copyOf(d.map.keySet()), "insertion order is kept");
        assertEquals(7L, d.map.get("a"));
        assertEquals(-3L, d.map.get("b"));
        assertEquals(1L << 40, d.map.get("c"));
        assertEquals(Boolean.TRUE, d.map.get("d"));
        assertNull(d.map.get("e"));
        assertEquals(1.5, d.map.get("f"));
        assertEquals(List.of(1L, 2L), assertInstanceOf(Py.PyList.class, d.map.get("g")).items);
        assertEquals(List.of("x", 3L), assertInstanceOf(Py.Tuple.class, d.map.get("h")).items);
        assertEquals(2, assertInstanceOf(Py.PySet.class, d.map.get("i")).items.size());
    }

    @Test
    void torchsMagicNumberIsReadAsALongInteger() {
        byte[] magic = {(byte) 0x80, 0x02, (byte) 0x8a, 0x0a, 0x6c, (byte) 0xfc, (byte) 0x9c, 0x46, (byte) 0xf9, 0x20, 0x6a, (byte) 0xa8,
                0x50, 0x19, '.'};
        assertEquals(TorchFile.MAGIC, load(magic));
    }

    /** The classic attack, protocol 2: GLOBAL posix.system, then REDUCE with a shell command. */
    @Test
    void aReduceOfPosixSystemIsRefusedNamingItAndNothingRuns() {
        Path marker = dir.resolve("ran");
        byte[] p = Pickles.proto2().global("posix", "system").str("touch " + marker).op(0x85).reduce().stop().bytes();
        LstmxException e = refused(ErrorCode.BAD_INPUT, () -> load(p));
        assertTrue(e.getMessage().contains("posix.system") && e.getMessage().contains("REDUCE"), e.getMessage());
        assertTrue(e.getMessage().contains("test.pkl"), "names the source: " + e.getMessage());
        assertFalse(Files.exists(marker), "the command ran");
    }

    /** The same in protocol 0 text, as pickle exploits are usually written: cos\nsystem\n(S'...'\ntR. */
    @Test
    void aProtocolZeroOsSystemCallIsRefusedNamingIt() {
        Path marker = dir.resolve("ran0");
        byte[] p = ("cos\nsystem\n(S'touch " + marker + "'\ntR.").getBytes(StandardCharsets.US_ASCII);
        LstmxException e = refused(ErrorCode.BAD_INPUT, () -> load(p));
        assertTrue(e.getMessage().contains("os.system"), e.getMessage());
        assertFalse(Files.exists(marker), "the command ran");
    }

    @Test
    void callsAndInstancesOfGlobalsOutsideTheAllowListAreRefusedWhateverTheOpcode() {
        // STACK_GLOBAL + REDUCE, INST, OBJ, NEWOBJ, NEWOBJ_EX: every way a pickle calls or instantiates.
        byte[][] attacks = {
            Pickles.proto2().str("builtins").str("eval").op(0x93).str("1+1").op(0x85).reduce().stop().bytes(),
            Pickles.proto2().mark().str("ls").line("isubprocess").line("check_output").stop().bytes(),
            Pickles.proto2().mark().global("subprocess", "Popen").str("ls").op('o').stop().bytes(),
            Pickles.proto2().global("posix", "system").emptyTuple().op(0x81).stop().bytes(),
            Pickles.proto2().global("builtins", "Exception").emptyTuple().op('}').op(0x92).stop().bytes(),
            Pickles.proto2().global("torch", "load").str("x.pt").op(0x85).reduce().stop().bytes(),
            Pickles.proto2().global("torch.storage", "_load_from_bytes").op('C').op(1).op('x').op(0x85).reduce().stop().bytes(),
            Pickles.proto2().global("copyreg", "_reconstructor").global("os", "Wrap").global("posix", "system").op('N')
                    .op(0x87).reduce().stop().bytes(),
        };
        String[] named = {"builtins.eval", "subprocess.check_output", "subprocess.Popen", "posix.system", "builtins.Exception",
            "torch.load", "torch.storage._load_from_bytes", "copyreg._reconstructor"};
        for (int i = 0; i < attacks.length; i++) {
            byte[] a = attacks[i];
            LstmxException e = refused(ErrorCode.BAD_INPUT, () -> load(a));
            assertTrue(e.getMessage().contains(named[i]), named[i] + ": " + e.getMessage());
        }
    }

    @Test
    void aPickledModuleClassBecomesAnAttributeBagWithoutBeingImported() {
        byte[] p = Pickles.proto2().global("__main__", "Net").emptyTuple().op(0x81).op('}').mark()
                .str("training").op(0x89).str("hidden").integer(16).op('u').op('b').stop().bytes();
        Py.Obj o = assertInstanceOf(Py.Obj.class, load(p));
        assertEquals("__main__.Net", o.cls.qualified());
        assertEquals(Boolean.FALSE, o.attributes.get("training"));
        assertEquals(16L, o.attributes.get("hidden"));
    }

    @Test
    void aBagClassWithConstructorArgumentsIsRefused() {
        byte[] p = Pickles.proto2().global("mymodels", "Net").str("rm -rf").op(0x85).op(0x81).stop().bytes();
        LstmxException e = refused(ErrorCode.BAD_INPUT, () -> load(p));
        assertTrue(e.getMessage().contains("mymodels.Net") && e.getMessage().contains("arguments"), e.getMessage());
    }

    @Test
    void bagClassesFollowTheNamingRules() {
        assertTrue(AllowList.isBagClass(new Py.Global("torch.nn.modules.rnn", "LSTM")));
        assertTrue(AllowList.isBagClass(new Py.Global("models", "LSTMFCN")));
        assertTrue(AllowList.isBagClass(new Py.Global("__main__", "Net")));
        assertFalse(AllowList.isBagClass(new Py.Global("posix", "system")), "a function name");
        assertFalse(AllowList.isBagClass(new Py.Global("builtins", "Exception")), "a runtime module");
        assertFalse(AllowList.isBagClass(new Py.Global("torch", "Tensor")), "torch outside torch.nn");
        assertFalse(AllowList.isBagClass(new Py.Global("_io", "FileIO")), "a private module");
        assertFalse(AllowList.isBagClass(new Py.Global("numpy", "Ndarray")), "numpy");
    }

    @Test
    void deeplyNestedListsAreRefusedQuickly() {
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            int n = 100_000;
            byte[] p = new byte[2 + 2 * n];
            p[0] = (byte) 0x80;
            p[1] = 2;
            for (int i = 0; i < n; i++) {
                p[2 + i] = ']';
            }
            for (int i = 0; i < n - 1; i++) {
                p[2 + n + i] = 'a';
            }
            p[p.length - 1] = '.';
            LstmxException e = refused(ErrorCode.BAD_INPUT, () -> load(p));
            assertTrue(e.getMessage().contains("nested"), e.getMessage());
        });
    }

    @Test
    void aMarkBombAndASelfContainingListAreRefusedQuickly() {
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            byte[] marks = new byte[100_003];
            marks[0] = (byte) 0x80;
            marks[1] = 2;
            java.util.Arrays.fill(marks, 2, marks.length - 1, (byte) '(');
            marks[marks.length - 1] = '.';
            assertTrue(refused(ErrorCode.BAD_INPUT, () -> load(marks)).getMessage().contains("MARK"));
            // L = []; L.append(L) again and again: a cycle whose depth grows with every append.
            Pickles p = Pickles.proto2().op(']').op('q').op(0);
            for (int i = 0; i < 10_000; i++) {
                p.op('h').op(0).op('a');
            }
            byte[] self = p.stop().bytes();
            assertTrue(refused(ErrorCode.BAD_INPUT, () -> load(self)).getMessage().contains("nested"));
        });
    }

    @Test
    void lengthsLargerThanWhatRemainsAreRefusedBeforeAllocating() {
        // BINUNICODE of 2 GiB - 1 with 3 bytes left; BINBYTES8 of 2^62; LONG4 of 1 GiB.
        byte[][] cases = {
            Pickles.proto2().op('X').int4(Integer.MAX_VALUE).raw(new byte[] {'a', 'b', 'c'}).bytes(),
            Pickles.proto2().op(0x8e).raw(new byte[] {0, 0, 0, 0, 0, 0, 0, 0x40}).bytes(),
            Pickles.proto2().op(0x8b).int4(1 << 30).bytes(),
            Pickles.proto2().op('B').int4(-1).bytes(),
        };
        for (byte[] c : cases) {
            LstmxException e = refused(ErrorCode.BAD_INPUT, () -> load(c));
            assertTrue(e.getMessage().contains("byte"), e.getMessage());
        }
    }

    @Test
    void malformedPicklesAreRefusedNamingTheOffset() {
        byte[][] cases = {
            Pickles.proto2().bytes(),                                      // no STOP
            Pickles.proto2().op('h').op(5).stop().bytes(),                 // memo entry never stored
            Pickles.proto2().op('a').stop().bytes(),                       // APPEND to nothing
            Pickles.proto2().op(0x82).op(1).stop().bytes(),                // EXT1: the extension registry
            Pickles.proto2().op(0xff).stop().bytes(),                      // no such opcode
            Pickles.proto2().op('}').op(']').op('K').op(1).op('s').stop().bytes(), // a list as a dict key
            Pickles.proto2().op('X').int4(2).raw(new byte[] {(byte) 0xff, (byte) 0xfe}).stop().bytes(), // not UTF-8
            new byte[] {(byte) 0x80, 9, '.'},                             // protocol 9
        };
        for (byte[] c : cases) {
            LstmxException e = refused(ErrorCode.BAD_INPUT, () -> load(c));
            assertTrue(e.getMessage().startsWith("test.pkl") && e.getMessage().contains("byte"), e.getMessage());
        }
    }

    @Test
    void protocolZeroEscapesAreDecoded() {
        byte[] p = "S'a\\nb\\x41\\''\np0\n.".getBytes(StandardCharsets.US_ASCII);
        assertEquals("a\nbA'", load(p));
        assertEquals("\u00e9x", load("V\\u00e9x\n.".getBytes(StandardCharsets.US_ASCII)));
    }
}
