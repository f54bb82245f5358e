# Kernel matrix: the kTLS conformance program that tests/test_vm_matrix.sh
# runs inside the 6.1 and 6.12 VMs, and the host test of the kTLS helper
# (tagshaked/ktls.c, the handshaker's own object).

# Not named test_*: the host runner must not run it (no kTLS on the host).
TEST_BINS += $(BUILD)/tests/ktls_conformance $(BUILD)/tests/test_ktls

$(BUILD)/tests/ktls_conformance: LDLIBS = -lssl -lcrypto -lpthread
$(BUILD)/tests/ktls_conformance: $(OBJ)/tests/ktls_conformance.o $(OBJ)/tests/tls_pair.o $(OBJ)/tagshaked/ktls.o \
				   $(OBJ)/tagshaked/secrets.o \
				   $(LIB_A)
	$(link)

$(BUILD)/tests/test_ktls: LDLIBS = -lcmocka -lssl -lcrypto -lpthread
$(BUILD)/tests/test_ktls: $(OBJ)/tests/test_ktls.o $(OBJ)/tests/tls_pair.o $(OBJ)/tagshaked/ktls.o \
				   $(OBJ)/tagshaked/secrets.o \
				   $(LIB_A)
	$(link)
