package io.flinkfleet.ha.${flinkfleet.adapter.package};

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.IllegalConfigurationException;
import org.apache.flink.configuration.JobManagerOptions;

import java.net.URI;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Leader server addresses as Flink hands them over: its list options split a string on
 * {@code ;} only, so a comma-separated value arrives as one element. Each address must come out
 * as its own base URL; before, {@code "http://a:1/,http://b:2/"} became one URI whose resolution
 * kept only {@code a:1}, and a TaskManager never polled the second JobManager (a standby).
 */
class PvcHaUtilsTest {

    private static List<String> servers(String value) {
        Configuration c = new Configuration();
        c.setString(PvcHaOptions.LEADER_SERVER_ADDRESSES.key(), value);
        return PvcHaUtils.leaderServers(c).stream().map(URI::toString).collect(Collectors.toList());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "http://a:1/,http://b:2/            | http://a:1/ http://b:2/",
        "http://a:1;http://b:2              | http://a:1/ http://b:2/",
        "' http://a:1/ ,  http://b:2 '      | http://a:1/ http://b:2/",
        "http://a:1/,                       | http://a:1/",
        "https://jm-0.jm:6126               | https://jm-0.jm:6126/",
        "http://a:1/;http://b:2,http://c:3  | http://a:1/ http://b:2/ http://c:3/",
    })
    void everyAddressIsItsOwnBaseUrl(String value, String expected) {
        assertThat(servers(value)).containsExactlyElementsOf(Arrays.asList(expected.split(" ")));
    }

    /** Anything but http(s)://host[:port][/] is refused loudly, never used in part. */
    @ParameterizedTest
    @ValueSource(strings = {"jm:6126", "http://a:1/x", "http://a:1/?q=1", "ftp://a:1/", "http://a:1/ http://b:2/",
        "http://user@a:1/"})
    void malformedAddressesAreRejected(String value) {
        assertThatThrownBy(() -> servers(value)).isInstanceOf(IllegalConfigurationException.class)
                .hasMessageContaining(PvcHaOptions.LEADER_SERVER_ADDRESSES.key());
    }

    @ParameterizedTest
    @CsvSource({"6126, http://jm:6126/", "0, ''"})
    void defaultIsTheRpcAddressWhenTheJobManagerServes(int port, String expected) {
        Configuration c = new Configuration();
        c.set(JobManagerOptions.ADDRESS, "jm");
        c.set(PvcHaOptions.LEADER_SERVER_PORT, port);
        assertThat(PvcHaUtils.leaderServers(c).stream().map(URI::toString).collect(Collectors.joining(" ")))
                .isEqualTo(expected);
    }
}
