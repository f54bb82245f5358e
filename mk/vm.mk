# Kernel matrix: the kTLS helper (user/ktls.c), the kTLS conformance program
# that tests/test_vm_matrix.sh runs inside the 6.1 and 6.12 VMs, and the host
# test of the helper. Objects live under $(BUILD)/vm/.

VM_OBJDIR := $(BUILD)/vm

$(VM_OBJDIR)/ktls.o: user/ktls.c user/ktls.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iuser -c $< -o $@

# Not named test_*: the host runner must not run it (no kTLS on the host).
TEST_BINS += $(BUILD)/tests/ktls_conformance

$(BUILD)/tests/ktls_conformance: tests/ktls_conformance.c $(VM_OBJDIR)/ktls.o user/ktls.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iuser $< $(VM_OBJDIR)/ktls.o -o $@ -lssl -lcrypto -lpthread
