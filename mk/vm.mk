# Kernel matrix: the kTLS helper (user/ktls.c), the kTLS conformance program
# that tests/test_vm_matrix.sh runs inside the 6.1 and 6.12 VMs, and the host
# test of the helper. Objects live under $(BUILD)/vm/.

VM_OBJDIR := $(BUILD)/vm

$(VM_OBJDIR)/ktls.o: user/ktls.c user/ktls.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iuser -c $< -o $@

# Not named test_*: the host runner must not run it (no kTLS on the host).
TEST_BINS += $(BUILD)/tests/ktls_conformance

$(BUILD)/tests/ktls_conformance: tests/ktls_conformance.c tests/tls_pair.c tests/tls_pair.h $(VM_OBJDIR)/ktls.o user/ktls.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iuser $< tests/tls_pair.c $(VM_OBJDIR)/ktls.o -o $@ -lssl -lcrypto -lpthread

TEST_BINS += $(BUILD)/tests/test_ktls

$(BUILD)/tests/test_ktls: tests/test_ktls.c tests/tls_pair.c tests/tls_pair.h $(VM_OBJDIR)/ktls.o user/ktls.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iuser $< tests/tls_pair.c $(VM_OBJDIR)/ktls.o -o $@ -lcmocka -lssl -lcrypto -lpthread
