/* SPDX-License-Identifier: MIT */
/* `skyvm run`: parse the command line into a vm_config, run the VM, report. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/vmapi.h"
#include "cli/cli.h"
#include "cpu/spec.h"
#include "snapshot/migrate.h"
#include "exitcodes.h"
#include "util/err.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define RUN_MAX_CPUS 4096
#define RUN_MAX_MEMORY_MIB (1ULL << 20) /* 1 TiB */
#define RUN_DEFAULT_MEMORY_KERNEL 256
#define RUN_DEFAULT_MEMORY_EMBEDDED 32
#define RUN_DEFAULT_MAX_OUTPUT (64ULL << 20)

static const char run_help[] =
	"Usage: skyvm run [OPTIONS]\n"
	"\n"
	"Boot a guest on /dev/kvm.  Without --kernel, boots the embedded default guest,\n"
	"which prints on every vCPU what it sees of its CPU and ends the VM.\n"
	"\n"
	"Guest:\n"
	"  --kernel FILE         Linux bzImage (64-bit boot protocol) or ELF with a PVH note\n"
	"  --initrd FILE         initial ramdisk\n"
	"  --cmdline STR         kernel command line (embedded guests take options too,\n"
	"                        see docs/guests.md: exit=N, test=..., verbose); with a kernel\n"
	"                        and kvmclock hidden, tsc_early_khz=<KVM's TSC kHz> is added\n"
	"  --guest NAME          embedded guest to boot without --kernel: default, probe\n"
	"                        (default: default)\n"
	"  --debug-exit          the debug-exit port 0x501 for a --kernel guest too (the\n"
	"                        embedded guests always have it): a byte written there\n"
	"                        ends the VM (Exit status below)\n"
	"Machine:\n"
	"  --cpus N              vCPUs (default 1)\n"
	"  --smp sockets=S,cores=C,threads=T\n"
	"                        topology the CPUID leaves describe (product >= --cpus)\n"
	"  --memory MiB          guest RAM in MiB (default 256 with --kernel, else 32);\n"
	"                        RAM above 3 GiB is placed above 4 GiB\n"
	"  --cpu MODEL[,opts]    CPU model and options (default host); see 'skyvm cpu --help'\n"
	"                        e.g. Skylake-Server,-avx512f,+pcid,enforce\n"
	"  --irqchip MODE        auto (default: in-kernel LAPIC/IOAPIC/PIC only when the guest\n"
	"                        needs interrupts: a kernel, or more than one vCPU), kernel, none\n"
	"Devices (virtio-mmio, described in the DSDT; with acpi=off in --cmdline, by\n"
	"virtio_mmio.device= instead):\n"
	"  --disk PATH[,ro][,id=NAME]\n"
	"                        virtio-blk over a raw image (repeatable: vda, vdb, ...);\n"
	"                        ro: opened read-only, guest writes fail with an I/O error;\n"
	"                        id: device id and the disk's serial (default virtio-blkN)\n"
	"  --rng                 virtio-rng fed by getrandom() (the guest's /dev/hwrng)\n"
	"  --net tap=NAME[,mac=MAC][,offload=on|off][,vhost=on|off][,id=NAME]\n"
	"                        virtio-net on an existing tap interface (repeatable: eth0,\n"
	"                        eth1, ...); mac: default a stable locally administered one\n"
	"                        from the tap's name; offload=off offers no checksum/TSO\n"
	"                        offloads (default on: passed through to the tap);\n"
	"                        vhost=on: the kernel's /dev/vhost-net moves the frames\n"
	"                        (default off: skyvm's event loop does)\n"
	"  --vsock cid=N,socket=PATH\n"
	"                        virtio-vsock with guest CID N (>= 3); host side as unix\n"
	"                        sockets: the guest's connections to port P go to PATH_P;\n"
	"                        a host process connects to PATH and writes \"CONNECT P\\n\"\n"
	"                        to reach the guest's port P (answered \"OK <port>\\n\")\n"
	"Console and limits:\n"
	"  --console WHERE       stdio (default; stdin is the serial input), file:PATH, none,\n"
	"                        or virtio: a virtio-console (hvc0) on stdio that takes the\n"
	"                        input (the serial port still prints).  On a terminal,\n"
	"                        Ctrl-A x ends the VM and Ctrl-A Ctrl-A sends Ctrl-A;\n"
	"                        output a reader does not take is buffered (4 MiB), then\n"
	"                        dropped and counted: the guest never waits for it\n"
	"  --max-output BYTES    stop a guest that writes more console output (default 64 MiB;\n"
	"                        0 = no limit)\n"
	"  --timeout SECONDS     stop a guest still running after this long (default: none)\n"
	"Control:\n"
	"  --api PATH            serve the control API (HTTP/1.1 + JSON) on a unix socket\n"
	"                        created mode 0600 (docs/api.md; client: skyvm ctl PATH ...)\n"
	"  --incoming unix:PATH|tcp:HOST:PORT\n"
	"                        wait for a VM sent by PUT /vm/migrate and run it (its config\n"
	"                        and CPU come from the source; --console, --api, --timeout\n"
	"                        apply); refuses (exit 4) a CPU this host cannot give\n"
	"  --supported DUMP      with --incoming: also check against a recorded host\n"
	"Sandbox (docs/sandbox.md):\n"
	"  --user UID:GID        as root: become this user and group once the VM is set up\n"
	"                        (files, /dev/kvm, taps, sockets opened), before the filter\n"
	"  --snapshot-dir DIR    with --api: PUT /vm/snapshot may write only beneath DIR\n"
	"                        (Landlock; default: wherever skyvm's user may)\n"
	"  --no-sandbox          run without the seccomp filter that otherwise confines\n"
	"                        every thread after set-up (debugging only; warns)\n"
	"  -v, --verbose         report how the VM ended even when it ended well\n"
	"  -h, --help            this text\n"
	"\n"
	"Environment: SKYVM_KVM_DEVICE overrides the KVM device path (default /dev/kvm).\n"
	"\n"
	"Exit status:\n"
	"  0      ACPI power-off, i8042 reset, Ctrl-A x, every vCPU halted, or the guest\n"
	"         wrote 0 to the debug-exit port 0x501\n"
	"  5-118, 126, 127\n"
	"         the guest's own status, written to the debug-exit port, unchanged\n"
	"  119    the guest wrote one of skyvm's own codes (1-4, 119-125, 128-255) to the\n"
	"         debug-exit port; stderr says which (QEMU's isa-debug-exit instead\n"
	"         exits with (status << 1) | 1)\n"
	"  1      set-up failed (no KVM, bad file, bad CPU model, too little memory)\n"
	"  2      bad command line\n"
	"  4      --incoming: this host cannot give the VM's CPU\n"
	"  120    guest triple fault (KVM_EXIT_SHUTDOWN); a report follows on stderr\n"
	"  121    KVM could not run an instruction (KVM_EXIT_INTERNAL_ERROR)\n"
	"  122    KVM_EXIT_FAIL_ENTRY\n"
	"  123    an exit skyvm does not handle\n"
	"  124    --timeout expired; where each vCPU was follows on stderr\n"
	"  125    the guest exceeded --max-output (or flooded a VMM port)\n"
	"  128+N  ended by signal N (SIGTERM: 143)\n"
	"  200    the sandbox stopped a forbidden system call; the report on stderr\n"
	"         names it and the thread (\"skyvm: sandbox: forbidden system call ...\")\n";

enum {
	OPT_KERNEL = 256, OPT_INITRD, OPT_CMDLINE, OPT_CPUS, OPT_SMP, OPT_MEMORY, OPT_CPU,
	OPT_CONSOLE, OPT_TIMEOUT, OPT_MAX_OUTPUT, OPT_IRQCHIP, OPT_GUEST, OPT_DISK, OPT_RNG,
	OPT_API, OPT_INCOMING, OPT_SUPPORTED,
	OPT_NET, OPT_VSOCK, OPT_DEBUG_EXIT, OPT_USER, OPT_NO_SANDBOX,
	OPT_SNAPSHOT_DIR,
};

static const struct option run_options[] = {
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "cmdline", required_argument, NULL, OPT_CMDLINE },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "smp", required_argument, NULL, OPT_SMP },
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "cpu", required_argument, NULL, OPT_CPU },
	{ "console", required_argument, NULL, OPT_CONSOLE },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "max-output", required_argument, NULL, OPT_MAX_OUTPUT },
	{ "irqchip", required_argument, NULL, OPT_IRQCHIP },
	{ "guest", required_argument, NULL, OPT_GUEST },
	{ "debug-exit", no_argument, NULL, OPT_DEBUG_EXIT },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "rng", no_argument, NULL, OPT_RNG },
	{ "api", required_argument, NULL, OPT_API },
	{ "incoming", required_argument, NULL, OPT_INCOMING },
	{ "supported", required_argument, NULL, OPT_SUPPORTED },
	{ "net", required_argument, NULL, OPT_NET },
	{ "vsock", required_argument, NULL, OPT_VSOCK },
	{ "user", required_argument, NULL, OPT_USER },
	{ "no-sandbox", no_argument, NULL, OPT_NO_SANDBOX },
	{ "snapshot-dir", required_argument, NULL, OPT_SNAPSHOT_DIR },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int check_readable(const char *what, const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0 || access(path, R_OK) < 0)
		return cli_error("%s %s: cannot read it (%s)", what, path,
				 stat(path, &st) < 0 ? "no such file" : "permission denied");
	if (!S_ISREG(st.st_mode))
		return cli_error("%s %s: not a regular file", what, path);
	return 0;
}

static int add_device(struct vm_config *cfg, const char *cls, const char *id, const char *opts)
{
	if (cfg->ndevices >= VM_MAX_DEVICE_SPECS)
		return cli_usage_error("run", "more than %d devices", VM_MAX_DEVICE_SPECS);
	cfg->devices[cfg->ndevices++] = (struct vm_device_spec){ cls, id, opts };
	return 0;
}

/*
 * --disk PATH[,ro][,id=NAME] (items after the path in any order): the id
 * becomes the device id, "PATH[,ro]" virtio-blk's options (in *owned, which
 * the caller frees).  A path with a comma is not expressible, as with QEMU's
 * -drive file=.
 */
static int parse_disk(struct vm_config *cfg, char *arg, char **owned)
{
	char *path = arg, *item, *save = NULL;
	const char *id = NULL;
	bool ro = false;

	item = strchr(arg, ',');
	if (item)
		*item++ = '\0';
	if (!*path)
		return cli_usage_error("run", "--disk: expected PATH[,ro][,id=NAME]");
	for (item = item ? strtok_r(item, ",", &save) : NULL; item;
	     item = strtok_r(NULL, ",", &save)) {
		if (!strcmp(item, "ro"))
			ro = true;
		else if (!strncmp(item, "id=", 3) && item[3])
			id = item + 3;
		else
			return cli_usage_error("run", "--disk %s: unknown option '%s' (expected ro or "
					       "id=NAME)", path, item);
	}
	if (asprintf(owned, "%s%s", path, ro ? ",ro" : "") < 0) {
		*owned = NULL;
		return cli_error("out of memory");
	}
	return add_device(cfg, "virtio-blk", id, *owned);
}

/*
 * --net tap=NAME[,mac=MAC][,offload=on|off][,id=NAME]: the id becomes the
 * device id, the rest virtio-net's options (checked there, in *owned).
 */
static int parse_net(struct vm_config *cfg, char *arg, char **owned)
{
	char *item, *save = NULL, *rest;
	const char *id = NULL;
	size_t len = 0;

	rest = calloc(1, strlen(arg) + 1);
	if (!rest)
		return cli_error("out of memory");
	*owned = rest;
	for (item = strtok_r(arg, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		if (!strncmp(item, "id=", 3)) {
			if (!item[3])
				return cli_usage_error("run", "--net: id= needs a name");
			id = item + 3;
			continue;
		}
		len += (size_t)sprintf(rest + len, "%s%s", len ? "," : "", item);
	}
	if (!len)
		return cli_usage_error("run", "--net: expected tap=NAME[,mac=MAC][,offload=on|off]"
				       "[,vhost=on|off][,id=NAME]");
	return add_device(cfg, "virtio-net", id, rest);
}

static void report_end(struct vm *vm, int code, bool verbose)
{
	unsigned long total = 0;
	char unclaimed[256];

	if (code != EXIT_OK || verbose)
		fprintf(stderr, "skyvm: %s (exit %d)\n", vm->stop_reason, code);
	/* Once per run, with how it ended (a probing Linux guest makes many). */
	if ((code != EXIT_OK || verbose) &&
	    machine_unclaimed_summary(&vm->machine, unclaimed, sizeof(unclaimed)) > 0)
		fprintf(stderr, "skyvm: %s\n", unclaimed);
	/* A hung guest: say where each vCPU was (map RIP with the kernel's System.map). */
	if (code == EXIT_TIMEOUT) {
		fprintf(stderr, "skyvm: where each vCPU was when the time ran out:\n");
		for (unsigned i = 0; i < vm->ncpus; i++) {
			char report[1024];

			vcpu_describe(&vm->vcpus[i], NULL, 0, report, sizeof(report));
			fputs(report, stderr);
		}
	}
	for (int k = 0; k < EMU_KIND_COUNT; k++)
		total += atomic_load(&vm->emulated.n[k]);
	if (total) {
		fprintf(stderr, "skyvm: completed for the guest (KVM could not emulate):");
		for (int k = 0; k < EMU_KIND_COUNT; k++) {
			unsigned long n = atomic_load(&vm->emulated.n[k]);

			if (n)
				fprintf(stderr, " %s x%lu", emulate_kind_name((enum emulate_kind)k), n);
		}
		fputc('\n', stderr);
	}
	total = 0;
	for (int k = 0; k < EMU_KIND_COUNT; k++)
		total += atomic_load(&vm->emulated.faults[k]);
	if (total) {
		/* Checked as the CPU would, against the vCPU's CPUID and CPL: vmm/emulate.h. */
		fprintf(stderr, "skyvm: raised in the guest instead, as the CPU would "
			"(hidden from its CPUID or not allowed at its privilege level):");
		for (int k = 0; k < EMU_KIND_COUNT; k++) {
			unsigned long n = atomic_load(&vm->emulated.faults[k]);

			if (n)
				fprintf(stderr, " %s x%lu", emulate_kind_name((enum emulate_kind)k), n);
		}
		fputc('\n', stderr);
	}
	console_report(&vm->console, stderr);
	for (unsigned i = 0; i < vm->ncpus; i++) {
		const struct vcpu *v = &vm->vcpus[i];

		if (v->steal_valid)
			fprintf(stderr, "skyvm: vCPU %u steal time %llu us\n", i,
				(unsigned long long)(v->steal_ns / 1000));
	}
}

/* owned[i]: memory the i-th device spec points into, freed by cmd_run(). */
static int run(int argc, char **argv, char **owned)
{
	struct vm_config cfg = {
		.guest_name = "default",
		.ncpus = 1,
		.cpu_spec = "host",
		.console = "stdio",
		.max_output = RUN_DEFAULT_MAX_OUTPUT,
		.irqchip = IRQCHIP_AUTO,
		.warn = stderr,
	};
	bool memory_given = false;
	const char *api_path = NULL, *incoming = NULL, *supported = NULL;
	struct sandbox_config sandbox = { 0 };
	struct vm_api *api = NULL;
	struct vm vm;
	int opt, code;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":hv", run_options, NULL)) != -1) {
		unsigned long long v;
		char *end;

		switch (opt) {
		case 'h':
			fputs(run_help, stdout);
			return EXIT_OK;
		case 'v':
			cfg.verbose = true;
			break;
		case OPT_KERNEL:
			cfg.kernel_path = optarg;
			break;
		case OPT_INITRD:
			cfg.initrd_path = optarg;
			break;
		case OPT_CMDLINE:
			cfg.cmdline = optarg;
			break;
		case OPT_GUEST:
			cfg.guest_name = optarg;
			break;
		case OPT_DEBUG_EXIT:
			cfg.debug_exit = true;
			break;
		case OPT_CPUS:
			if (!cli_parse_uint(optarg, ~0ULL, &v) || v == 0 || v > RUN_MAX_CPUS)
				return cli_usage_error("run", "--cpus '%s': expected 1 to %d", optarg,
						       RUN_MAX_CPUS);
			cfg.ncpus = (unsigned)v;
			break;
		case OPT_SMP:
			if (cli_parse_smp(optarg, RUN_MAX_CPUS, &cfg.topo) < 0)
				return cli_usage_error("run",
						       "--smp '%s': expected sockets=S,cores=C,threads=T "
						       "with positive numbers", optarg);
			break;
		case OPT_MEMORY:
			if (!cli_parse_uint(optarg, ~0ULL, &v) || v == 0 || v > RUN_MAX_MEMORY_MIB)
				return cli_usage_error("run", "--memory '%s': expected MiB, 1 to %llu",
						       optarg, RUN_MAX_MEMORY_MIB);
			cfg.memory_mib = v;
			memory_given = true;
			break;
		case OPT_CPU:
			cfg.cpu_spec = optarg;
			break;
		case OPT_CONSOLE:
			if (!strcmp(optarg, "virtio")) {
				if (add_device(&cfg, "virtio-console", NULL, NULL))
					return EXIT_USAGE;
				cfg.console = "stdio";
			} else {
				cfg.console = optarg;
			}
			break;
		case OPT_DISK:
			if (cfg.ndevices >= VM_MAX_DEVICE_SPECS)
				return cli_usage_error("run", "more than %d devices",
						       VM_MAX_DEVICE_SPECS);
			if (parse_disk(&cfg, optarg, &owned[cfg.ndevices]))
				return EXIT_USAGE;
			break;
		case OPT_API:
			api_path = optarg;
			break;
		case OPT_INCOMING:
			incoming = optarg;
			break;
		case OPT_SUPPORTED:
			supported = optarg;
			break;
		case OPT_NET:
			if (cfg.ndevices >= VM_MAX_DEVICE_SPECS)
				return cli_usage_error("run", "more than %d devices",
						       VM_MAX_DEVICE_SPECS);
			if (parse_net(&cfg, optarg, &owned[cfg.ndevices]))
				return EXIT_USAGE;
			break;
		case OPT_VSOCK:
			if (add_device(&cfg, "virtio-vsock", NULL, optarg))
				return EXIT_USAGE;
			break;
		case OPT_RNG:
			if (add_device(&cfg, "virtio-rng", NULL, NULL))
				return EXIT_USAGE;
			break;
		case OPT_USER:
			if (sandbox_parse_user(optarg, &sandbox) < 0)
				return cli_usage_error("run", "%s", err_msg());
			break;
		case OPT_SNAPSHOT_DIR:
			sandbox.snapshot_dir = optarg;
			break;
		case OPT_NO_SANDBOX:
			sandbox.disabled = true;
			break;
		case OPT_TIMEOUT:
			cfg.timeout_s = strtod(optarg, &end);
			if (end == optarg || *end || !(cfg.timeout_s > 0) || cfg.timeout_s > 1e7)
				return cli_usage_error("run", "--timeout '%s': expected seconds > 0",
						       optarg);
			break;
		case OPT_MAX_OUTPUT:
			if (!cli_parse_uint(optarg, ~0ULL, &v))
				return cli_usage_error("run", "--max-output '%s': expected bytes",
						       optarg);
			cfg.max_output = v;
			break;
		case OPT_IRQCHIP:
			if (!strcmp(optarg, "auto"))
				cfg.irqchip = IRQCHIP_AUTO;
			else if (!strcmp(optarg, "kernel"))
				cfg.irqchip = IRQCHIP_KERNEL;
			else if (!strcmp(optarg, "none"))
				cfg.irqchip = IRQCHIP_NONE;
			else
				return cli_usage_error("run", "--irqchip '%s': expected auto, kernel "
						       "or none", optarg);
			break;
		case ':':
			return cli_usage_error("run", "option '%s' needs a value", argv[optind - 1]);
		default:
			return cli_usage_error("run", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("run", "unexpected argument '%s'", argv[optind]);
	if (supported && !incoming)
		return cli_usage_error("run", "--supported needs --incoming");
	if (sandbox.snapshot_dir && !api_path)
		return cli_usage_error("run", "--snapshot-dir needs --api (snapshots are taken "
				       "through it)");
	if (sandbox_check_user(&sandbox) < 0)
		return cli_error("%s", err_msg());
	if (sandbox.disabled)
		fprintf(stderr, "%s\n", sandbox_disabled_warning);
	sandbox.verbose = cfg.verbose;
	cfg.sandbox = &sandbox;
	if (incoming) {
		/* The VM comes from the source: its config and CPU tables with it. */
		struct incoming_opts io = {
			.from = incoming, .console = cfg.console, .api_path = api_path,
			.supported = supported, .timeout_s = cfg.timeout_s,
			.max_output = cfg.max_output, .verbose = cfg.verbose,
			.sandbox = &sandbox,
		};

		return migrate_incoming(&io);
	}
	if (!memory_given)
		cfg.memory_mib = cfg.kernel_path ? RUN_DEFAULT_MEMORY_KERNEL
						 : RUN_DEFAULT_MEMORY_EMBEDDED;
	{
		struct cpu_topology *t = &cfg.topo;
		unsigned long long slots = (unsigned long long)(t->sockets ? t->sockets : 1) *
					   (t->cores ? t->cores : 1) * (t->threads ? t->threads : 1);

		if (t->sockets && t->cores && t->threads && slots < cfg.ncpus)
			return cli_usage_error("run", "--smp gives %llu CPU slots, fewer than "
					       "--cpus %u", slots, cfg.ncpus);
	}
	/* Files first: their errors are the user's to fix, whatever the host. */
	if (cfg.kernel_path && check_readable("kernel", cfg.kernel_path))
		return EXIT_ERROR;
	if (cfg.initrd_path && check_readable("initrd", cfg.initrd_path))
		return EXIT_ERROR;
	if (cfg.initrd_path && !cfg.kernel_path)
		return cli_usage_error("run", "--initrd needs --kernel");

	if (cli_check_cpu_spec("--cpu ", cfg.cpu_spec) < 0)
		return EXIT_ERROR;
	if (vm_create(&vm, &cfg) < 0) {
		code = cli_error("%s", err_msg());
		vm_destroy(&vm);
		return code;
	}
	if (api_path) {
		api = vm_api_start(&vm, api_path);
		if (!api) {
			code = cli_error("%s", err_msg());
			vm_destroy(&vm);
			return code;
		}
	}
	code = vm_run(&vm);
	if (vm.wedged) {
		/* Threads left running may hold stdio's or a device's locks: say
		 * why and which with plain writes, and touch nothing else. */
		vm_report_wedged(&vm, code);
		return code;
	}
	vm_api_stop(api);
	report_end(&vm, code, cfg.verbose);
	vm_destroy(&vm);
	return code;
}

static int cmd_run(int argc, char **argv)
{
	char *owned[VM_MAX_DEVICE_SPECS] = { NULL };
	int code = run(argc, argv, owned);

	for (unsigned i = 0; i < VM_MAX_DEVICE_SPECS; i++)
		free(owned[i]);
	return code;
}

CLI_COMMAND("run", cmd_run, "boot a guest (Linux bzImage, PVH ELF, or the embedded guest)")
