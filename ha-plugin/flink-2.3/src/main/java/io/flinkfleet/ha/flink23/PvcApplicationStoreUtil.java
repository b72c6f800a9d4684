package io.flinkfleet.ha.flink23;

import org.apache.flink.api.common.ApplicationID;
import org.apache.flink.runtime.jobmanager.ApplicationStoreUtil;

/** Entry names of {@code applications/}: the application id in hex. */
public enum PvcApplicationStoreUtil implements ApplicationStoreUtil {
    INSTANCE;

    @Override
    public String applicationIdToName(ApplicationID applicationId) {
        return applicationId.toHexString();
    }

    @Override
    public ApplicationID nameToApplicationId(String name) {
        return ApplicationID.fromHexString(name);
    }
}
